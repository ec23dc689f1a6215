"""GRiT (ViT-B, DenseCap + ObjectDet) without detectron2: the model, its loader and the predictor API.

``GritPredictor(image, task)`` runs what VBench's ``DenseCaptioning.run_caption_tensor`` runs:

1. the frame (H, W, 3, RGB, 0..255, uint8 or float32) at its own resolution (the official
   predictor computes a resize and throws it away), normalised with ImageNet mean/std in 0..255
   units and zero-padded to a multiple of 32;
2. backbone -> CenterNet proposals -> cascade box heads -> boxes with score > 0.5 after NMS;
3. the text decoder describes each box with the task's begin token (the test task), and VBench's
   extra ObjectDet pass gives ``det_obj`` for the same boxes (one model serves both tasks: the
   passes differ only in the begin token, so the box part runs once);
4. the score is rescored with the description, sqrt(score x exp(logprob));
5. boxes of zero width or height (clipped onto the image edge) are dropped after decoding, as
   detectron2's ``detector_postprocess`` does.

It returns :class:`Instance` records in the official output order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import text_decoder as T
from .backbone import Backbone, ViTConfig
from .proposals import ProposalGenerator
from .roi_heads import CascadeHeads, pool

CKPT = "grit_model/grit_b_densecap_objectdet.pth"
PIXEL_MEAN = (123.675, 116.280, 103.530)
PIXEL_STD = (58.395, 57.12, 57.375)
#: checkpoint keys we read but do not build: the mask head (its output is never used by VBench)
IGNORED = ("roi_heads.mask_head.",)


@dataclass(frozen=True)
class Instance:
    description: str
    box: tuple
    score: float
    det_obj: str


class TextDecoder(nn.Module):
    def __init__(self, **sizes):
        super().__init__()
        self.textual = T.Textual(**sizes)


class RoIHeads(CascadeHeads):
    def __init__(self, channels: int, text_sizes: dict, box_dim: int = 1024, stages: int = 3):
        super().__init__(channels, box_dim, stages)
        self.text_decoder = TextDecoder(**text_sizes)


class Grit(nn.Module):
    def __init__(self, vit: ViTConfig, text_sizes: dict, box_dim: int = 1024, stages: int = 3):
        super().__init__()
        self.backbone = Backbone(vit)
        self.proposal_generator = ProposalGenerator(vit.out_channels)
        self.roi_heads = RoIHeads(vit.out_channels, text_sizes, box_dim, stages)
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN).view(3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD).view(3, 1, 1), persistent=False)

    def preprocess(self, image) -> tuple[torch.Tensor, tuple[int, int]]:
        """(1, 3, Hp, Wp) normalised, zero-padded to a multiple of 32; and (H, W)."""
        arr = np.asarray(image)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"GRiT expects an (H, W, 3) RGB frame, got shape {arr.shape}")
        x = torch.as_tensor(arr.astype("float32").transpose(2, 0, 1)).to(self.pixel_mean.device)
        x = (x - self.pixel_mean) / self.pixel_std
        h, w = x.shape[1:]
        div = Backbone.size_divisibility
        hp, wp = -(-h // div) * div, -(-w // div) * div
        out = x.new_zeros((1, 3, hp, wp))
        out[0, :, :h, :w] = x
        return out, (h, w)

    @torch.no_grad()
    def run(self, image, begins: tuple[int, ...], trace: dict | None = None):
        """Boxes, scores before text, proposal index, and (tokens, logprobs) for each begin token."""
        return self.run_many([image], begins, trace)[0]

    @torch.no_grad()
    def run_many(self, images, begins: tuple[int, ...], trace: dict | None = None) -> list:
        """:meth:`run` for frames of one size: one backbone and proposal pass over all of them.

        Everything after the backbone is per image (GroupNorm, LayerNorm and the heads never mix
        images), so a batch changes only the rounding of the matrix products, not the rules."""
        if trace is not None and len(images) != 1:
            raise ValueError("a GRiT trace records one frame")
        inputs = [self.preprocess(image) for image in images]
        if len({x.shape for x, _ in inputs}) > 1 or len({size for _, size in inputs}) > 1:
            raise ValueError("GRiT batches need frames of one size")
        x = torch.cat([t for t, _ in inputs])
        feats = self.backbone(x)
        if trace is not None:
            trace.update(preprocessed=x, backbone=feats)
        proposals = self.proposal_generator(feats)
        out = []
        for i, (boxes, scores) in enumerate(proposals):
            if trace is not None:
                trace.update(proposals=(boxes, scores))
            levels = [feats[name][i:i + 1] for name in ("p3", "p4", "p5")]
            out.append(self._describe(levels, boxes, scores, inputs[i][1], begins, trace))
        return out

    def _describe(self, levels, boxes, scores, size, begins, trace):
        kept, kept_scores, index = self.roi_heads.detect(levels, boxes, scores, size, trace)
        if trace is not None:
            trace.update(kept=(kept, kept_scores, index))
        texts = []
        if kept.shape[0]:
            obj = pool(levels, kept, 14)
            obj = obj.view(obj.shape[0], obj.shape[1], -1).permute(0, 2, 1).contiguous()
            if trace is not None:
                trace.update(object_features=obj)
            textual = self.roi_heads.text_decoder.textual
            states = textual.memory_states(obj)  # shared by the test-task and det_obj passes
            for b in begins:
                texts.append(T.greedy(textual, obj, b, memory=states))
        return kept, kept_scores, index, texts


class BertDecoder:
    """``BertTokenizer.decode(ids, skip_special_tokens=True)`` of transformers 4.33 for bert-base-uncased."""

    SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

    def __init__(self, vocab_file: Path):
        if not Path(vocab_file).is_file():
            raise FileNotFoundError(vocab_file)
        self.tokens = Path(vocab_file).read_text(encoding="utf-8").split("\n")
        if self.tokens and self.tokens[-1] == "":
            self.tokens.pop()
        if len(self.tokens) < 30522 or self.tokens[102] != "[SEP]":
            raise ValueError(f"{vocab_file}: not the bert-base-uncased vocabulary "
                             f"({len(self.tokens)} entries; token 102 is {self.tokens[102:103]})")

    def __call__(self, ids) -> str:
        words = [self.tokens[i] for i in ids if self.tokens[i] not in self.SPECIAL]
        text = " ".join(words).replace(" ##", "").strip()
        for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                     (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
            text = text.replace(a, b)
        return text


class GritPredictor:
    """Callable ``(image, task) -> [Instance]``; one model for both tasks."""

    def __init__(self, model: Grit, decode: BertDecoder):
        self.model = model
        self.decode = decode

    def __call__(self, image, task: str, trace: dict | None = None) -> list[Instance]:
        return self.many([image], task, trace)[0]

    def many(self, images, task: str, trace: dict | None = None) -> list[list[Instance]]:
        """The instances of each frame; frames of one size share a backbone pass (see :func:`frames_per_pass`)."""
        if task not in T.TASK_BEGIN:
            raise ValueError(f"unknown GRiT task {task!r} (expected ObjectDet or DenseCap)")
        begin, det = T.TASK_BEGIN[task], T.TASK_BEGIN["ObjectDet"]
        begins = (begin,) if begin == det else (begin, det)
        return [self._instances(*result) for result in self.model.run_many(images, begins, trace)]

    def _instances(self, boxes, scores, _index, texts) -> list[Instance]:
        if not boxes.shape[0]:
            return []
        words = [[self.decode(row[1:]) for row in tok.tolist()] for tok, _ in texts]
        tokens, logprobs = texts[0]
        final = (scores * torch.exp(logprobs)) ** 0.5
        det_words = words[-1]
        # detectron2's detector_postprocess: drop boxes of zero width or height (clipped onto an image
        # edge); the description and det_obj lists are filtered with them
        keep = ((boxes[:, 2] - boxes[:, 0]) > 0) & ((boxes[:, 3] - boxes[:, 1]) > 0)
        return [Instance(words[0][i], tuple(float(v) for v in boxes[i].tolist()), float(final[i]), det_words[i])
                for i in range(boxes.shape[0]) if keep[i]]


def frames_per_pass(device, hw: tuple[int, int], accelerator_frames: int = 4,
                    budget_bytes: int = 2 << 30) -> int:
    """Frames per backbone pass: 1 on the CPU, where one frame per pass measured fastest (see
    docs/dimensions/grit.md) and equals the official per-frame loop exactly; on an accelerator up to
    ``accelerator_frames``, fewer when the ViT's activations would exceed ``budget_bytes``."""
    if torch.device(device).type == "cpu":
        return 1
    h, w = hw
    tokens = (-(-h // 32) * 2) * (-(-w // 32) * 2)  # stride-16 tokens of the zero-padded frame
    # largest live set of a ViT-B block on that grid: the 768-wide token rows a few times over, the
    # 3072-wide MLP rows, and the 12-head global attention matrix of the global blocks (fp32)
    per_frame = 4 * (tokens * 768 * 6 + tokens * 3072 + 12 * tokens * tokens)
    return max(1, min(accelerator_frames, budget_bytes // max(1, per_frame)))


def text_sizes(sd: dict, prefix: str = "roi_heads.text_decoder.textual.") -> dict:
    words = sd[prefix + "embedding.words.weight"]
    lp = prefix + "transformer.encoder.layer."
    layers = 1 + max(int(k[len(lp):].split(".")[0]) for k in sd if k.startswith(lp))
    dim = words.shape[1]
    heads = max(1, dim // 64)
    return {"feature_dim": sd[prefix + "object_feature_projection.0.weight"].shape[1], "dim": dim,
            "heads": heads, "ff": sd[prefix + "transformer.encoder.layer.0.intermediate.dense.weight"].shape[0],
            "layers": layers, "vocab": words.shape[0], "positions": sd[prefix + "embedding.positions.weight"].shape[0]}


def build(sd: dict, path: Path | str = "<state dict>") -> Grit:
    """A GRiT sized from the state dict, loaded strictly (the output layer is tied to the word embeddings)."""
    from ..checkpoint import check_keys, no_random_init

    sd = dict(sd)
    out_w = "roi_heads.text_decoder.textual.output.weight"
    if out_w not in sd:
        sd[out_w] = sd["roi_heads.text_decoder.textual.embedding.words.weight"]
    stages = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("roi_heads.box_head."))
    config = (ViTConfig.from_state_dict(sd), text_sizes(sd), sd["roi_heads.box_head.0.fc1.weight"].shape[0], stages)
    with no_random_init():  # every parameter comes from the checkpoint (strict check below)
        model = Grit(*config)
    state = {k: v for k, v in sd.items() if not k.startswith(IGNORED)}
    check_keys(model, state, Path(path))
    model.load_state_dict(state, strict=True)
    return model.eval()


def load(runtime) -> GritPredictor:
    """Loader of the ``grit`` family (``models.LOADERS``)."""
    from ..checkpoint import CheckpointError, load_state_dict, resolve

    path = resolve(CKPT, runtime)
    sd = load_state_dict(path, unwrap=("model",))
    vocab = resolve("bert_model/bert-base-uncased/vocab.txt", runtime)
    try:
        decode = BertDecoder(vocab)
    except ValueError as exc:
        raise CheckpointError(f"{exc}; fetch it with `pytest-vbench download --dims object_class`") from None
    model = build(sd, path).to(runtime.device)
    return GritPredictor(model, decode)
