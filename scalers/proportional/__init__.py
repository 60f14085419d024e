"""The proportional loop: CPA's math on the cluster's nodes and cores."""
