"""AMT-S, the frame interpolator of motion_smoothness, written for this project.

AMT (Li et al., CVPR 2023, "AMT: All-Pairs Multi-Field Transforms for Efficient Frame
Interpolation") predicts the frame at time ``t`` between two frames:

1. a small RAFT-style feature encoder (instance norm, no affine) gives 1/8-resolution features of
   both frames; their all-pairs correlation is built once, in both directions, as a 4-level pyramid;
2. an IFRNet-style pyramid encoder (four stride-2 stages with PReLU) gives context features at 1/2,
   1/4, 1/8 and 1/16;
3. a coarse-to-fine decoder: at 1/16 an initial decoder proposes the two flows (t->0, t->1) and an
   intermediate feature; at 1/8, 1/4 and 1/2 a decoder warps both frames' features with the current
   flows and refines them. After each of the three coarse levels an update block looks the flows up
   in the correlation pyramid (scaled to 0->1 and 1->0 under a linear-motion assumption) and adds
   residuals to the flows and the feature;
4. the last decoder emits ``num_flows`` (3) flow pairs, occlusion masks and image residuals at full
   resolution; each pair warps both frames, the warps are blended, and a small conv block fuses the
   three candidates into the output.

The module and parameter names below are the ones of the released ``amt-s.pth``
(``{'state_dict': ...}``) so the official file loads strictly, without renaming. Only the inference
path is implemented (no training outputs). Numerics follow the released model operation by
operation, which is what makes our per-video motion_smoothness values equal to VBench's.
:func:`interpolate` runs a batch of frame pairs in one pass (every normalisation in the network is
per sample).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import CheckpointError, check_keys, load_state_dict, resolve

FILE = "amt_model/amt-s.pth"

#: AMT-S hyper-parameters (``cfgs/AMT-S.yaml`` and the network's defaults)
RADIUS, LEVELS, NUM_FLOWS = 3, 4, 3
CHANNELS, SKIP = (20, 32, 44, 56), 20
FEAT_DIM = 84


def _up(x, factor):
    """Bilinear resize by ``factor`` (half-pixel centres)."""
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)


def backward_warp(img, flow):
    """Sample ``img`` at ``pixel + flow`` (border padding), the way AMT's ``warp`` does it."""
    b, _, h, w = flow.shape
    gx = torch.linspace(-1.0, 1.0, w).view(1, 1, 1, w).expand(b, -1, h, -1)
    gy = torch.linspace(-1.0, 1.0, h).view(1, 1, h, 1).expand(b, -1, -1, w)
    base = torch.cat([gx, gy], 1).to(img)
    norm = torch.cat([flow[:, :1] / ((w - 1.0) / 2.0), flow[:, 1:2] / ((h - 1.0) / 2.0)], 1)
    return F.grid_sample(img, (base + norm).permute(0, 2, 3, 1), mode="bilinear", padding_mode="border",
                         align_corners=True)


def pixel_grid(b, h, w, device):
    """``(B, 2, H, W)`` float grid of (x, y) pixel coordinates."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    return torch.stack([xs, ys]).float()[None].repeat(b, 1, 1, 1)


# ----------------------------------------------------------------------------------------- blocks


def conv_prelu(cin, cout, k=3, stride=1, pad=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, pad), nn.PReLU(cout))


class SideResBlock(nn.Module):
    """Residual block whose last ``side`` channels get an extra conv twice (IFRNet's ResBlock)."""

    def __init__(self, ch: int, side: int):
        super().__init__()
        self.side = side
        self.conv1 = conv_prelu(ch, ch)
        self.conv2 = conv_prelu(side, side)
        self.conv3 = conv_prelu(ch, ch)
        self.conv4 = conv_prelu(side, side)
        self.conv5 = nn.Conv2d(ch, ch, 3, 1, 1)
        self.prelu = nn.PReLU(ch)

    def _side(self, x, conv):
        return torch.cat([x[:, :-self.side], conv(x[:, -self.side:])], 1)

    def forward(self, x):
        y = self._side(self.conv1(x), self.conv2)
        y = self.conv5(self._side(self.conv3(y), self.conv4))
        return self.prelu(x + y)


def decoder_body(cin, cmid, cout, side):
    """conv+PReLU, side residual block, then a x2 transposed conv (every AMT decoder)."""
    return nn.Sequential(conv_prelu(cin, cmid), SideResBlock(cmid, side), nn.ConvTranspose2d(cmid, cout, 4, 2, 1))


class Bottleneck(nn.Module):
    """1x1 - 3x3 (strided) - 1x1 bottleneck with parameter-free instance norms."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        mid = cout // 4
        self.conv1 = nn.Conv2d(cin, mid, 1, padding=0)
        self.conv2 = nn.Conv2d(mid, mid, 3, padding=1, stride=stride)
        self.conv3 = nn.Conv2d(mid, cout, 1, padding=0)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride), nn.InstanceNorm2d(cout))
                           if stride != 1 else None)

    def forward(self, x):
        norm = F.instance_norm  # InstanceNorm2d without affine or running stats: no parameters
        y = F.relu(norm(self.conv1(x)))
        y = F.relu(norm(self.conv2(y)))
        y = F.relu(norm(self.conv3(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return F.relu(x + y)


class CorrEncoder(nn.Module):
    """RAFT's small feature encoder: 1/8 resolution, ``FEAT_DIM`` channels."""

    def __init__(self, out_dim: int = FEAT_DIM):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 7, stride=2, padding=3)
        self.norm1 = nn.InstanceNorm2d(32)
        cin = 32
        for i, (width, stride) in enumerate(((32, 1), (64, 2), (96, 2)), 1):
            self.add_module(f"layer{i}", nn.Sequential(Bottleneck(cin, width, stride), Bottleneck(width, width, 1)))
            cin = width
        self.conv2 = nn.Conv2d(96, out_dim, 1)

    def forward(self, x):
        x = F.relu(self.norm1(self.conv1(x)))
        return self.conv2(self.layer3(self.layer2(self.layer1(x))))


class ContextPyramid(nn.Module):
    """Four stride-2 stages; returns the features at 1/2, 1/4, 1/8, 1/16."""

    def __init__(self, channels=CHANNELS):
        super().__init__()
        cin = 3
        for i, ch in enumerate(channels, 1):
            self.add_module(f"pyramid{i}", nn.Sequential(conv_prelu(cin, ch, 3, 2, 1), conv_prelu(ch, ch)))
            cin = ch
        self.depth = len(channels)

    def forward(self, x):
        out = []
        for i in range(1, self.depth + 1):
            x = getattr(self, f"pyramid{i}")(x)
            out.append(x)
        return out


class UpdateBlock(nn.Module):
    """Correlation + flow encoder and three heads: residual feature and residual bidirectional flow.

    ``factor`` (2 or 4) means the block works at 1/8 on inputs that live at 1/4 or 1/2.
    """

    def __init__(self, cdim: int, factor: int | None = None, hidden=76, flow_dim=20, corr_dim=64, fc_dim=68):
        super().__init__()
        planes = 2 * LEVELS * (2 * RADIUS + 1) ** 2
        self.factor = factor
        self.convc1 = nn.Conv2d(planes, corr_dim, 1, padding=0)
        self.convf1 = nn.Conv2d(4, flow_dim * 2, 7, padding=3)
        self.convf2 = nn.Conv2d(flow_dim * 2, flow_dim, 3, padding=1)
        self.conv = nn.Conv2d(corr_dim + flow_dim, fc_dim, 3, padding=1)

        def head(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, hidden, 3, padding=1), nn.LeakyReLU(0.1), nn.Conv2d(hidden, cout, 3, padding=1))

        self.gru = head(fc_dim + 4 + cdim, hidden)  # (the name is the checkpoint's: it is not a GRU)
        self.feat_head = head(hidden, cdim)
        self.flow_head = head(hidden, 4)

    def forward(self, feat, flow, corr):
        def lrelu(t):
            return F.leaky_relu(t, 0.1)

        if self.factor is not None:
            feat = _up(feat, 1 / self.factor)
        motion = torch.cat([lrelu(self.convc1(corr)), lrelu(self.convf2(lrelu(self.convf1(flow))))], 1)
        hidden = self.gru(torch.cat([lrelu(self.conv(motion)), flow, feat], 1))
        d_feat, d_flow = self.feat_head(hidden), self.flow_head(hidden)
        if self.factor is not None:
            d_feat = _up(d_feat, self.factor)
            d_flow = self.factor * _up(d_flow, self.factor)
        return d_feat, d_flow


class InitDecoder(nn.Module):
    """1/16 level: both frames' features and the time -> flows t->0, t->1 and a feature at 1/8."""

    def __init__(self, cin, cout, side):
        super().__init__()
        self.convblock = decoder_body(2 * cin + 1, 2 * cin, cout + 4, side)

    def forward(self, f0, f1, embt):
        h, w = f0.shape[2:]
        out = self.convblock(torch.cat([f0, f1, embt.expand(f0.shape[0], 1, h, w)], 1))
        flow0, flow1 = torch.chunk(out[:, :4], 2, 1)
        return flow0, flow1, out[:, 4:]


class RefineDecoder(nn.Module):
    """1/8 and 1/4 levels: warp both frames' features, refine the flows, upsample x2."""

    def __init__(self, cin, cout, side):
        super().__init__()
        self.convblock = decoder_body(3 * cin + 4, 3 * cin, cout + 4, side)

    def forward(self, feat, f0, f1, flow0, flow1):
        out = self.convblock(torch.cat([feat, backward_warp(f0, flow0), backward_warp(f1, flow1), flow0, flow1], 1))
        d0, d1 = torch.chunk(out[:, :4], 2, 1)
        return d0 + 2.0 * _up(flow0, 2.0), d1 + 2.0 * _up(flow1, 2.0), out[:, 4:]


class MultiFlowDecoder(nn.Module):
    """1/2 level: ``n`` flow pairs, occlusion masks and image residuals at full resolution."""

    def __init__(self, cin, side, n=NUM_FLOWS):
        super().__init__()
        self.n = n
        self.convblock = decoder_body(3 * cin + 4, 3 * cin, 8 * n, side)

    def forward(self, feat, f0, f1, flow0, flow1):
        n = self.n
        out = self.convblock(torch.cat([feat, backward_warp(f0, flow0), backward_warp(f1, flow1), flow0, flow1], 1))
        d0, d1, mask, res = torch.split(out, [2 * n, 2 * n, n, 3 * n], 1)
        flow0 = d0 + 2.0 * _up(flow0, 2.0).repeat(1, n, 1, 1)
        flow1 = d1 + 2.0 * _up(flow1, 2.0).repeat(1, n, 1, 1)
        return flow0, flow1, torch.sigmoid(mask), res


# ------------------------------------------------------------------------------------ correlation


class CorrPyramid:
    """All-pairs correlation of two 1/8 feature maps, pooled in both directions (4 levels)."""

    def __init__(self, fmap0, fmap1, levels=LEVELS, radius=RADIUS):
        b, c, h, w = fmap0.shape
        corr = torch.matmul(fmap0.view(b, c, h * w).transpose(1, 2), fmap1.view(b, c, h * w))
        corr = corr.view(b, h, w, 1, h, w) / torch.sqrt(torch.tensor(c).float())
        fwd = corr.reshape(b * h * w, 1, h, w)  # indexed by a pixel of frame 0, pooled over frame 1
        bwd = corr.permute(0, 4, 5, 3, 1, 2).reshape(b * h * w, 1, h, w)  # and the other way round
        del corr
        self.radius = radius
        self.fwd, self.bwd = [fwd], [bwd]
        for _ in range(levels - 1):
            self.fwd.append(F.avg_pool2d(self.fwd[-1], 2, stride=2))
            self.bwd.append(F.avg_pool2d(self.bwd[-1], 2, stride=2))

    @staticmethod
    def _sample(vol, coords):
        h, w = vol.shape[-2:]
        x, y = coords.split([1, 1], dim=-1)
        grid = torch.cat([2 * x / (w - 1) - 1, 2 * y / (h - 1) - 1], dim=-1)
        return F.grid_sample(vol, grid, align_corners=True)

    def lookup(self, coords0, coords1):
        """Windows of ``(2r+1)^2`` values around ``coords0`` (forward) and ``coords1`` (backward)."""
        r = self.radius
        c0, c1 = coords0.permute(0, 2, 3, 1), coords1.permute(0, 2, 3, 1)
        b, h, w, _ = c0.shape
        span = torch.linspace(-r, r, 2 * r + 1, device=c0.device)
        dy, dx = torch.meshgrid(span, span, indexing="ij")
        offsets = torch.stack([dy, dx], dim=-1).view(1, 2 * r + 1, 2 * r + 1, 2)
        outs = ([], [])
        for level, (vf, vb) in enumerate(zip(self.fwd, self.bwd)):
            for out, vol, c in ((outs[0], vf, c0), (outs[1], vb, c1)):
                at = c.reshape(b * h * w, 1, 1, 2) / 2 ** level + offsets
                out.append(self._sample(vol, at).view(b, h, w, -1))
        return tuple(torch.cat(o, dim=-1).permute(0, 3, 1, 2).contiguous().float() for o in outs)


# ---------------------------------------------------------------------------------------- network


class AMTS(nn.Module):
    """AMT-S; ``forward(img0, img1, embt)`` returns the interpolated frame in 0..1."""

    def __init__(self):
        super().__init__()
        c = CHANNELS
        self.feat_encoder = CorrEncoder(FEAT_DIM)
        self.encoder = ContextPyramid(c)
        self.decoder4 = InitDecoder(c[3], c[2], SKIP)
        self.decoder3 = RefineDecoder(c[2], c[1], SKIP)
        self.decoder2 = RefineDecoder(c[1], c[0], SKIP)
        self.decoder1 = MultiFlowDecoder(c[0], SKIP, NUM_FLOWS)
        self.update4 = UpdateBlock(c[2])
        self.update3 = UpdateBlock(c[1], 2)
        self.update2 = UpdateBlock(c[0], 4)
        n = NUM_FLOWS
        self.comb_block = nn.Sequential(nn.Conv2d(3 * n, 6 * n, 3, 1, 1), nn.PReLU(6 * n), nn.Conv2d(6 * n, 3, 3, 1, 1))

    @staticmethod
    def _lookup(corr, grid, flow0, flow1, embt, down):
        """Correlation around the 0->1 and 1->0 flows implied by the t->0, t->1 flows (at 1/8)."""
        if down != 1:
            flow0 = (1 / down) * _up(flow0, 1 / down)
            flow1 = (1 / down) * _up(flow1, 1 / down)
        c0, c1 = corr.lookup(grid + flow1 * (1.0 / embt), grid + flow0 * (1.0 / (1.0 - embt)))
        return torch.cat([c0, c1], 1), torch.cat([flow0, flow1], 1)

    def forward(self, img0, img1, embt):
        mean = torch.cat([img0, img1], 2).mean(1, keepdim=True).mean(2, keepdim=True).mean(3, keepdim=True)
        img0, img1 = img0 - mean, img1 - mean
        b, _, h, w = img0.shape
        grid = pixel_grid(b, h // 8, w // 8, img0.device)
        fmap0, fmap1 = torch.split(self.feat_encoder(torch.cat([img0, img1], 0)), [b, b], 0)
        corr = CorrPyramid(fmap0, fmap1)
        feats0, feats1 = self.encoder(img0), self.encoder(img1)

        flow0, flow1, feat = self.decoder4(feats0[3], feats1[3], embt)
        for level, (update, down) in enumerate(((self.update4, 1), (self.update3, 2), (self.update2, 4))):
            if level:
                decoder = (self.decoder3, self.decoder2)[level - 1]
                flow0, flow1, feat = decoder(feat, feats0[3 - level], feats1[3 - level], flow0, flow1)
            c, fl = self._lookup(corr, grid, flow0, flow1, embt, down)
            d_feat, d_flow = update(feat, fl, c)
            d0, d1 = torch.chunk(d_flow, 2, 1)
            flow0, flow1, feat = flow0 + d0, flow1 + d1, feat + d_feat
        del corr
        flow0, flow1, mask, res = self.decoder1(feat, feats0[0], feats1[0], flow0, flow1)
        return torch.clamp(self._combine(img0, img1, flow0, flow1, mask, res, mean), 0, 1)

    def _combine(self, img0, img1, flow0, flow1, mask, res, mean):
        """Warp both frames with each of the ``n`` flow pairs, blend, and fuse the candidates."""
        b, c2, h, w = flow0.shape
        n = c2 // 2

        def per_flow(t, ch):
            return t.reshape(b, n, ch, h, w).reshape(-1, ch, h, w)

        def repeat(t, ch):
            return torch.stack([t] * n, 1).reshape(-1, ch, *t.shape[2:])

        warped0 = backward_warp(repeat(img0, 3), per_flow(flow0, 2))
        warped1 = backward_warp(repeat(img1, 3), per_flow(flow1, 2))
        m = per_flow(mask, 1)
        cands = (m * warped0 + (1 - m) * warped1 + repeat(mean, 1) + per_flow(res, 3)).reshape(b, n, 3, h, w)
        return cands.mean(1) + self.comb_block(cands.view(b, -1, h, w))


# ------------------------------------------------------------------------------------------ usage


def interpolate(model, frames0, frames1, t: float = 0.5):
    """Middle frames (0..1, ``(B, 3, H, W)``) of pairs of 0..1 frames whose sides are multiples of 16."""
    embt = torch.tensor(t, dtype=torch.float32, device=frames0.device).view(1, 1, 1, 1)
    with torch.no_grad():
        return model(frames0, frames1, embt)


def pairs_per_pass(device: str, hw) -> int:
    """Frame pairs per AMT-S pass: 1 on the CPU; on an accelerator up to 4, within 2 GiB of
    correlation pyramids (AMT keeps two per pair, one per direction)."""
    from .raft import pairs_per_pass as corr_bounded

    return corr_bounded(device, hw, pyramids=2)


def build(state: dict, path=None):
    """AMT-S holding ``state`` (eval, fp32); strict, with a clear message on a mismatch."""
    model = AMTS()
    check_keys(model, state, path or "AMT-S checkpoint")
    model.load_state_dict(state, strict=True)
    return model.eval()


def load(runtime):
    """The motion_smoothness model on the runtime's device."""
    path = resolve(FILE, runtime)
    raw = load_state_dict(path)
    state = raw.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not an AMT checkpoint (expected {{'state_dict': {{...}}}}, found keys "
                              f"{sorted(map(str, raw))[:5]}); delete it and download it again")
    return build(state, path).to(runtime.device)
