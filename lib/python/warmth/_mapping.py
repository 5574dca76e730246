"""What both Table classes (the extension's, _ntable.py, and the ctypes
fallback's, table.py) build on lookup() and models(): the mapping-like
reading methods, written once so the two backends cannot drift apart."""
from .errors import WarmthError


class TableMapping:
    """Mixin: needs lookup(model) and models() from the class it joins."""

    __slots__ = ()

    def __contains__(self, model):
        try:
            self.lookup(model)
        except WarmthError as e:
            if e.name == "WARMTH_ENOTFOUND":
                return False
            raise
        return True

    def get(self, model, default=None):
        """lookup(model), or `default` on any WarmthError."""
        try:
            return self.lookup(model)
        except WarmthError:
            return default

    def __iter__(self):
        return iter(self.models())

    def names(self):
        return [m.name for m in self.models()]
