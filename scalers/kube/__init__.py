"""Kubernetes access shared by both loops: the adapter, watch caches, patch helper, Events."""
