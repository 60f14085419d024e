"""Connecting to a real cluster: in-cluster service account, or a kubeconfig for local runs."""

from __future__ import annotations

import os
from typing import Any

import yaml
from kubernetes import client, config

CONNECTIONS = 32  # the schedule loop's 16 writers, up to 6 watches, the Lease and the Events


class ConfigError(Exception):
    """A configuration that cannot be used; the message is one line a user can act on."""


def api_client(kubeconfig: str | None, context: str | None, user_agent: str) -> client.ApiClient:
    """In-cluster when running in a pod and no kubeconfig is named, else the kubeconfig."""
    configuration = client.Configuration()
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            config.load_incluster_config(client_configuration=configuration)
        except (config.ConfigException, OSError) as error:
            raise ConfigError(f"in-cluster configuration failed: {_line(error)}") from error
        where = "in-cluster configuration"
    else:
        path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        _load_kubeconfig(path, context, configuration)
        where = f"kubeconfig {path}"
    for value in configuration.api_key.values():  # a final newline is dropped at each request
        if any(character in str(value).strip() for character in "\r\n"):
            raise ConfigError(f"{where}: the user's token has a line break inside it")
    # A connection for each writer thread and each watch stream, so that no write waits for a
    # connection (the client's default is 5 per core: 10 on the 2 cores a pod often has).
    configuration.connection_pool_maxsize = CONNECTIONS
    result = client.ApiClient(configuration)
    result.user_agent = user_agent
    return result


def _load_kubeconfig(path: str, context: str | None, configuration: client.Configuration) -> None:
    """`path` may be a list, as KUBECONFIG is (`a:b`): kubectl's merge, which the client's
    loader does, of the files that exist; the first to set current-context sets it."""
    files = [os.path.expanduser(p) for p in path.split(os.pathsep) if p]
    documents = [_read(p) for p in files if os.path.exists(p)]
    if not documents:
        raise ConfigError(
            f"no kubeconfig at {path}: pass --kubeconfig, set KUBECONFIG, or run in a pod"
        )
    listed = [c for d in documents for c in d.get("contexts") or [] if isinstance(c, dict)]
    contexts = list(dict.fromkeys(c.get("name") for c in listed))
    current = next((c for d in documents if (c := d.get("current-context"))), None)
    if context is not None and context not in contexts:
        raise ConfigError(
            f"no context {context!r} in kubeconfig {path} "
            f"(it has: {', '.join(map(str, contexts)) or 'none'})"
        )
    try:
        config.load_kube_config(path, context=context, client_configuration=configuration)
    except Exception as error:  # the loader reports a malformed document by whatever it trips on
        raise ConfigError(f"cannot use kubeconfig {path}: {_line(error)}") from error
    # The loader sets the host only from a cluster's server; the client's default is empty,
    # and urllib3 would send the requests to whatever listens on localhost.
    if not configuration.host:
        chosen = context or current
        raise ConfigError(f"kubeconfig {path}: the cluster of context {chosen!r} has no server")
    if not configuration.host.startswith(("http://", "https://")):
        raise ConfigError(f"kubeconfig {path}: server {configuration.host!r} is not an http(s) URL")


def _read(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as file:
            document = yaml.safe_load(file)
    except OSError as error:
        raise ConfigError(f"cannot read kubeconfig {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"kubeconfig {path} is not UTF-8 text: {error.reason}") from error
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"kubeconfig {path} is not YAML: {where}{error.problem}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"kubeconfig {path} is not YAML: {_line(error)}") from error
    if not isinstance(document, dict):
        raise ConfigError(f"kubeconfig {path} is not a kubeconfig (a YAML mapping)")
    return document


def _line(error: Exception) -> str:
    """One line: some errors span several."""
    return " ".join(str(error).split())
