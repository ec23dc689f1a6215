"""Building models without their random initial weights (models.checkpoint.no_random_init).

The loaders of Tag2Text and GRiT build their modules inside the block and then load every parameter
from the checkpoint. What must hold: the block changes nothing but the random fills, it is undone on
the way out (also after an error), and a model built this way equals one built the ordinary way and
loaded from the same file, parameters and deterministic buffers alike.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from pytest_vbench import fake_checkpoints  # noqa: E402
from pytest_vbench.models.checkpoint import no_random_init  # noqa: E402


def test_random_fills_are_skipped_inside_and_restored_after():
    normal, uniform = torch.Tensor.normal_, torch.Tensor.uniform_
    with no_random_init():
        t = torch.zeros(5)
        assert t.normal_() is t and not t.any()
        assert not t.uniform_(-1, 1).any()
        assert not torch.nn.init.trunc_normal_(torch.zeros(3)).any()  # uniform_ skipped; erfinv(0) = 0
        assert torch.ones(2).fill_(3).sum().item() == 6  # deterministic fills still work
    assert torch.Tensor.normal_ is normal and torch.Tensor.uniform_ is uniform
    assert torch.zeros(100).normal_().std() > 0.5

    with pytest.raises(RuntimeError, match="boom"), no_random_init():
        raise RuntimeError("boom")
    assert torch.Tensor.normal_ is normal and torch.Tensor.uniform_ is uniform


def _same(a: torch.nn.Module, b: torch.nn.Module):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for name in sa:
        assert torch.equal(sa[name], sb[name]), name
    ba, bb = dict(a.named_buffers()), dict(b.named_buffers())  # non-persistent buffers too
    assert list(ba) == list(bb)
    for name in ba:
        assert torch.equal(ba[name], bb[name]), name


def test_tag2text_built_without_random_init_equals_the_ordinary_build(tmp_path):
    pytest.importorskip("timm")
    pytest.importorskip("transformers")
    from pytest_vbench.models.tag2text import loader
    from pytest_vbench.models.tag2text.model import Tag2Text

    fake_checkpoints.write("tag2text", tmp_path, seed=1, tiny=True)
    sd = torch.load(tmp_path / loader.CHECKPOINT, map_location="cpu", weights_only=True)["model"]
    tok = loader.load_tokenizer(tmp_path)
    fast = loader.build_from_state(sd, tok)

    plain = Tag2Text(tok, **loader.infer_config(sd))
    plain.load_state_dict(loader.convert_state(sd), strict=False)
    with torch.no_grad():
        for bert in (plain.tag_encoder.bert, plain.text_decoder.lm.bert):
            bert.embeddings.token_type_embeddings.weight.zero_()
    _same(fast, plain.eval())


def test_grit_built_without_random_init_equals_the_ordinary_build(tmp_path):
    pytest.importorskip("torchvision")
    from pytest_vbench.models.grit import predictor as G

    fake_checkpoints.write_grit(tmp_path, seed=1, tiny=True)
    sd = torch.load(tmp_path / G.CKPT, map_location="cpu", weights_only=True)["model"]
    fast = G.build(sd)

    full = dict(sd)
    full.setdefault("roi_heads.text_decoder.textual.output.weight",
                    sd["roi_heads.text_decoder.textual.embedding.words.weight"])
    stages = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("roi_heads.box_head."))
    plain = G.Grit(G.ViTConfig.from_state_dict(full), G.text_sizes(full),
                   full["roi_heads.box_head.0.fc1.weight"].shape[0], stages)
    plain.load_state_dict({k: v for k, v in full.items() if not k.startswith(G.IGNORED)}, strict=True)
    _same(fast, plain.eval())
