"""Loading checkpoint files for the model families: clear errors, weights_only, strict key checks.

Nothing read from the cache runs code: ``torch.load(weights_only=True)`` for torch files, and
:func:`read_archive_tensors` for TorchScript archives (the OpenAI CLIP files), which reads their
tensors through a restricted unpickler without ever calling ``torch.jit.load``.
"""

from __future__ import annotations

import pickle
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from .. import weights


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, damaged, or does not fit the model."""


def resolve(rel: str, runtime) -> Path:
    """The cache path of a table row, checked (structure, size, digest) before anything reads it.

    Raises :class:`CheckpointError` naming the file, the dimensions that need it and the
    shell-quoted command that fixes it. The digest is computed once per file state (see
    :func:`weights.file_digest`), so loaders after the session's preflight pay nothing again.
    """
    ckpt = weights.by_path(rel)
    dims = weights.dims_needing(ckpt)
    fix = weights.download_command(dims, runtime.cache_dir)
    try:
        st = weights.check(ckpt, runtime.cache_dir, lock=weights.read_lock(lock) if (lock := weights.find_lock())
                           else None)
    except weights.LockFileError as exc:
        raise CheckpointError(str(exc)) from None
    if st.state == "missing":
        raise CheckpointError(f"missing checkpoint {st.path} (needed by {', '.join(dims)}); fetch it with `{fix}`")
    if not st.ok:
        raise CheckpointError(f"{st.detail} (needed by {', '.join(dims)}); delete it and run `{fix}`")
    return st.path


# -- TorchScript archives without TorchScript -------------------------------------------------------

_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
    "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
}
_MAX_PICKLE = 256 << 20  # data.pkl of a module tree is small (the OpenAI archives: ~100 KB)


class _StorageType:
    """What ``GLOBAL torch FloatStorage`` becomes: a dtype marker, not callable."""

    def __init__(self, dtype: str):
        self.dtype = dtype


class _ScriptObject:
    """What every ``__torch__.*`` module class becomes: an inert holder of its pickled attributes."""

    def __init__(self, *args: Any) -> None:
        self.attrs: dict = {}

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"unsupported module state of type {type(state).__name__} (a custom "
                                         f"__getstate__: such an archive would run its own code when loaded)")
        self.attrs = state


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    import torch

    if not isinstance(storage, tuple) or not all(isinstance(v, int) for v in (offset, *size, *stride)):
        raise pickle.UnpicklingError("malformed tensor record")
    data, dtype = storage
    return torch.empty(0, dtype=dtype).set_(data, offset, tuple(size), tuple(stride))


def _identity(value, *args):
    return value


class _RestrictedUnpickler(pickle.Unpickler):
    """Only tensor rebuilding, storages from the archive, plain containers and inert module holders."""

    _ALLOWED: ClassVar[dict[tuple[str, str], Any]] = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): lambda data, requires_grad=False, hooks=None: data,
        ("collections", "OrderedDict"): dict,
        ("torch.jit._pickle", "restore_type_tag"): _identity,
        ("torch.jit._pickle", "build_intlist"): list,
        ("torch.jit._pickle", "build_doublelist"): list,
        ("torch.jit._pickle", "build_boollist"): list,
        ("torch.jit._pickle", "build_tensorlist"): list,
    }

    def __init__(self, file, zf: zipfile.ZipFile, prefix: str, archive: Path):
        super().__init__(file)
        self.zf, self.prefix, self.archive = zf, prefix, archive
        self.classes: dict[str, type] = {}
        self.storages: dict[str, Any] = {}

    def _read_stored(self, info: zipfile.ZipInfo, nbytes: int) -> bytearray:
        """A stored (uncompressed) member read straight into new memory, its CRC checked."""
        raw = self.zf.fp
        if raw is None:
            raise pickle.UnpicklingError("archive closed")
        raw.seek(info.header_offset)
        header = raw.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise pickle.UnpicklingError(f"bad local header for {info.filename}")
        raw.seek(info.header_offset + 30 + int.from_bytes(header[26:28], "little")
                 + int.from_bytes(header[28:30], "little"))
        buf = bytearray(nbytes)
        view, got = memoryview(buf), 0
        while got < nbytes and (n := raw.readinto(view[got:])):  # type: ignore[attr-defined]
            got += n
        if got != nbytes or zlib.crc32(buf) != info.CRC:
            raise pickle.UnpicklingError(f"storage {info.filename} is truncated or damaged (CRC)")
        return buf

    def find_class(self, module: str, name: str) -> Any:
        if module == "__torch__" or module.startswith("__torch__."):
            qual = f"{module}.{name}"
            if qual not in self.classes:  # one inert class per TorchScript type, for error messages
                self.classes[qual] = type(name, (_ScriptObject,), {"__module__": "pytest_vbench.inert"})
            return self.classes[qual]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}: a checkpoint holds tensors, "
                                         f"not code") from None

    def persistent_load(self, pid: Any) -> Any:
        import torch

        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str) and isinstance(pid[4], int)):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        _, stype, key, _location, numel = pid
        dtype = getattr(torch, stype.dtype)
        if key not in self.storages:
            name = f"{self.prefix}data/{key}"
            try:
                info = self.zf.getinfo(name)
            except KeyError:
                raise pickle.UnpicklingError(f"storage {name} is missing from the archive") from None
            nbytes = numel * torch.empty(0, dtype=dtype).element_size()
            if info.compress_type != zipfile.ZIP_STORED or info.file_size != nbytes:
                raise pickle.UnpicklingError(f"storage {name} holds {info.file_size} bytes "
                                             f"({'compressed' if info.compress_type else 'stored'}), "
                                             f"its record says {nbytes}")
            buf = self._read_stored(info, nbytes)
            self.storages[key] = torch.frombuffer(buf, dtype=torch.uint8).untyped_storage() if buf else \
                torch.UntypedStorage(0)
        return (self.storages[key], dtype)


def _flatten(obj: Any, prefix: str, out: dict, depth: int = 0) -> None:
    import torch

    if depth > 64:
        raise pickle.UnpicklingError("module tree nested too deeply")
    if isinstance(obj, torch.Tensor):
        out[prefix.rstrip(".")] = obj
    elif isinstance(obj, _ScriptObject):
        for name, value in obj.attrs.items():
            _flatten(value, f"{prefix}{name}.", out, depth + 1)


def read_archive_tensors(path: Path) -> dict:
    """Every tensor of a TorchScript archive by dotted attribute path, read without running its code.

    ``data.pkl`` is unpickled with an allow-list (tensor rebuilding, storages read from the
    archive's ``data/`` entries, plain containers); every TorchScript class becomes an inert holder
    of its attributes and the archive's ``code/`` is never read. For a traced module (the OpenAI
    CLIP files) the tensors are exactly its parameters and buffers: ``torch.jit.load(path).state_dict()``.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            pkls = [n for n in zf.namelist() if n.endswith("data.pkl") and n.count("/") <= 1]
            if len(pkls) != 1:
                raise CheckpointError(f"{path}: not a torch archive (found {len(pkls)} data.pkl entries)")
            info = zf.getinfo(pkls[0])
            if info.file_size > _MAX_PICKLE:
                raise CheckpointError(f"{path}: data.pkl of {info.file_size} bytes is not a module tree")
            prefix = pkls[0][: -len("data.pkl")]
            with zf.open(info) as fh:
                root = _RestrictedUnpickler(fh, zf, prefix, path).load()
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError,
            TypeError, AttributeError, IndexError, KeyError) as exc:
        raise CheckpointError(f"{path} cannot be read as a weights-only archive ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); it is not the official "
                              f"file: delete it and download it again") from None
    out: dict = {}
    _flatten(root, "", out)
    return out


def load_torch(path: Path | str, *, mmap: bool = False) -> Any:
    """``torch.load(weights_only=True)`` on CPU, memory-mapped when asked and the file format allows it.

    A damaged file raises :class:`CheckpointError` naming it instead of an unpickling traceback.
    """
    import torch

    try:
        if mmap:
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as exc:  # legacy (non-zip) serialisation cannot be memory-mapped
                if "mmap" not in str(exc) and "zipfile" not in str(exc):
                    raise
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle/zip errors take many forms; all mean "not readable"
        raise CheckpointError(f"{path} cannot be read as a torch checkpoint ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); it is truncated or "
                              f"corrupt: delete it and download it again") from None


def load_state_dict(path: Path, *, unwrap: tuple[str, ...] = (), strip_prefix: str = "", mmap: bool = False) -> dict:
    """:func:`load_torch`, optionally taking ``ckpt[key]`` and stripping a key prefix; refuses anything but a dict."""
    obj = load_torch(path, mmap=mmap)
    for key in unwrap:
        if isinstance(obj, dict) and key in obj:
            obj = obj[key]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} does not hold a state dict (found {type(obj).__name__})")
    if strip_prefix:
        obj = {k[len(strip_prefix):] if k.startswith(strip_prefix) else k: v for k, v in obj.items()}
    return obj


def check_keys(model, state: dict, path: Path | str, *, ignore: tuple[str, ...] = ()) -> None:
    """Fail, naming the keys, when ``state`` does not fill ``model`` exactly (strict loading with a message)."""
    expected = set(model.state_dict())
    got = set(state)
    missing = sorted(k for k in expected - got if not k.startswith(ignore))
    unexpected = sorted(k for k in got - expected if not k.startswith(ignore))
    if missing or unexpected:
        def show(keys):
            return ", ".join(keys[:8]) + (f" … (+{len(keys) - 8})" if len(keys) > 8 else "")
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s): {show(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {show(unexpected)}")
        raise CheckpointError(f"{path} does not match the model: {'; '.join(parts)}")


_RANDOM_FILLS = ("normal_", "uniform_")


@contextmanager
def no_random_init():
    """Build modules without drawing their random initial weights.

    Inside the block ``Tensor.normal_`` and ``Tensor.uniform_`` (what every ``torch.nn.init``
    function, timm's ``trunc_normal_`` and transformers' ``_init_weights`` end in) leave the tensor
    as it is. Use it only around building a model whose every parameter is then loaded from a
    checkpoint under a strict key check: the parameters hold whatever memory they were given until
    then. Buffers (position indices, attention masks) are computed by deterministic code and are not
    affected. A Tag2Text build drops from about 9.6 s to under 1 s this way.
    """
    import torch

    saved = {name: getattr(torch.Tensor, name) for name in _RANDOM_FILLS}

    def keep(self, *args, **kwargs):
        return self

    try:
        for name in _RANDOM_FILLS:
            setattr(torch.Tensor, name, keep)
        yield
    finally:
        for name, fn in saved.items():
            setattr(torch.Tensor, name, fn)


def adopt(model, state: dict, path: Path | str, what: str, finish=None):
    """Fill a model built on the meta device with ``state`` exactly: strict keys, tensors adopted, eval mode.

    The one strict load of the families built without random initialisation (DINO, MUSIQ, ViCLIP,
    UMT): :func:`check_keys` (a message naming missing/unexpected keys), ``load_state_dict(strict=True,
    assign=True)``, then ``finish(model)`` for the tensors the file does not carry (ViCLIP's causal
    mask, UMT's sinusoid table: non-persistent buffers still on the meta device), then a check that
    no parameter or buffer is left on the meta device.
    """
    check_keys(model, state, path)
    model.load_state_dict(state, strict=True, assign=True)
    if finish is not None:
        finish(model)
    leftover = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    if leftover:
        raise CheckpointError(f"{path}: {what} tensors not filled by the checkpoint: {leftover[:5]}")
    return model.eval()
