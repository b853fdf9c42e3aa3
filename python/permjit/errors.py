"""permjit's errors as Python exceptions: one class per permjit::ErrorCategory.

Every failure of the library arrives as a PermjitError subclass whose message is permjit's own
(it names the offending field and the allowed values) and whose ``category`` is the category's
name ("invalid argument", ...). Checks the Python layer makes itself (tensor devices, dtypes,
shapes) raise the same classes with messages in the same form.
"""

from __future__ import annotations


class PermjitError(Exception):
    """A failure reported by permjit. ``status`` is the C API's permjit_status_t value."""

    status = 8
    category = "internal error"

    # No __init__ of its own: torch.compile / torch.export trace the construction of an
    # exception with Exception's (torch 2.11 cannot trace a super().__init__ call), so an
    # error raised in compiled code arrives with permjit's message.
    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.category}: {self.message!r})"


class InvalidPatternError(PermjitError, ValueError):
    """A pattern, layout or config that makes no sense (the message names the field)."""

    status = 1
    category = "invalid pattern"


class InvalidArgumentError(PermjitError, ValueError):
    """API misuse: tensors on the wrong device, shapes that disagree with the plan, nulls."""

    status = 2
    category = "invalid argument"


class UnsupportedError(PermjitError):
    """Valid, but not supported by this build or target (head dim, dtype, ...)."""

    status = 3
    category = "unsupported"


class CompileError(PermjitError):
    """NVRTC rejected generated code (the message carries the log)."""

    status = 4
    category = "compile failure"


class DriverError(PermjitError, RuntimeError):
    """A CUDA driver call failed, or there is no driver or GPU."""

    status = 5
    category = "driver error"


class OutOfMemoryError(PermjitError, MemoryError):
    status = 6
    category = "out of memory"


class IoError(PermjitError, OSError):
    """Files: the kernel cache, configs, captured tensors."""

    status = 7
    category = "i/o error"


class InternalError(PermjitError):
    status = 8
    category = "internal error"


_BY_STATUS = {
    cls.status: cls
    for cls in (
        InvalidPatternError,
        InvalidArgumentError,
        UnsupportedError,
        CompileError,
        DriverError,
        OutOfMemoryError,
        IoError,
        InternalError,
    )
}


def error_for_status(status: int, message: str) -> PermjitError:
    """The exception of a C API status code (an unknown code is an InternalError)."""
    cls = _BY_STATUS.get(status, InternalError)
    return cls(message)
