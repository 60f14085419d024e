"""Connecting to a real cluster: in-cluster service account, or a kubeconfig for local runs."""

from __future__ import annotations

import os

from kubernetes import client, config


class ConfigError(Exception):
    pass


def api_client(kubeconfig: str | None, context: str | None, user_agent: str) -> client.ApiClient:
    """In-cluster when running in a pod and no kubeconfig is named, else the kubeconfig."""
    configuration = client.Configuration()
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException as error:
            raise ConfigError(f"in-cluster configuration failed: {error}") from error
    else:
        path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        if not os.path.exists(path):
            raise ConfigError(
                f"no kubeconfig at {path}: pass --kubeconfig, set KUBECONFIG, or run in a pod"
            )
        try:
            config.load_kube_config(path, context=context, client_configuration=configuration)
        except (config.ConfigException, ValueError) as error:
            raise ConfigError(f"cannot use kubeconfig {path}: {error}") from error
    result = client.ApiClient(configuration)
    result.user_agent = user_agent
    return result
