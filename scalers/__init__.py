"""kube-scalers: schedule and cluster-proportional autoscaling for Kubernetes HPAs."""
