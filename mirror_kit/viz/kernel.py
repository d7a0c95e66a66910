"""A Jupyter kernel reached through Unix sockets in a private folder instead of TCP on 127.0.0.1.

Reports must build offline, including where no network exists at all (a network namespace with the
loopback down, `firejail --net=none`, some sandboxes): there TCP kernels wait 60 s and fail. Unix
sockets need no network, and in a 0700 folder no other local user can connect or eavesdrop.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any


def ipc_kernel_manager(folder: Path) -> type:
    """A KernelManager class (for nbclient/papermill `kernel_manager_class`) whose kernel listens on
    Unix sockets `folder/k-*` and whose connection file is `folder/kernel.json`.

    folder: an existing private (0700) directory; keep its path short (Unix socket paths are
    limited to about 100 bytes).
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

        @default("ip")
        def _ip_default(self) -> str:
            return str(folder / "k")

        @default("connection_file")
        def _connection_file_default(self) -> str:
            return str(folder / "kernel.json")

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            # The kernel's own log lines ("KeyboardInterrupt caught in kernel" when a failed report
            # stops it) would reach the user's terminal next to our one-line error; cell errors
            # come back as messages, so its stdout/stderr carry nothing the report needs.
            kw.setdefault("stdout", subprocess.DEVNULL)
            kw.setdefault("stderr", subprocess.DEVNULL)
            await super()._async_launch_kernel(kernel_cmd, **kw)

    return IPCKernelManager
