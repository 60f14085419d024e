"""The names the controller uses unless told otherwise, in one place: the CLI's defaults, the
loops' configuration, the Lease, the Event source and the manifests all read them here."""

NAMESPACE = "kube-system"  # the controller's namespace: its Lease, the ConfigMap, the targets
PARAMS_CONFIGMAP = "dns-autoscaler"  # the proportional loop's parameters, as CPA's --configmap
CALENDARS = "kube-scalers-calendars"  # the team calendars of schedules' skipDays and onlyDays
LEASE = "kube-scalers"  # the leader-election Lease
SCHEDULE_MANAGER = "kube-scalers-schedule"  # the field manager of the schedule loop's writes
COMPONENT = "kube-scalers"  # the Events' source.component and reportingController
COREDNS = "coredns"  # the proportional loop's default target: the HPA of CoreDNS
