#!/usr/bin/python3
"""Times a plain PyTorch eager forward of SAPNet (the authors' architecture: 6 stages, 32 channels,
dilations 1..16 with channel residual attention, conv-LSTM) on the CPU, for comparison with
`sapnet bench --device cpu`. Not part of the project: a measuring stick, run with Debian's torch."""
import argparse
import json
import time

import torch
from torch import nn


class CRA(nn.Module):
    def __init__(self, c, r=16):
        super().__init__()
        self.du = nn.Sequential(nn.Conv2d(c, c // r, 1, bias=False), nn.ReLU(),
                                nn.Conv2d(c // r, c, 1, bias=False))
        self.direct = nn.Conv2d(c, c, 1, bias=False)

    def forward(self, x):
        y = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.du(y) + self.direct(y))


class Unit(nn.Module):
    def __init__(self, c, d):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=d, dilation=d), CRA(c), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, padding=d, dilation=d), CRA(c), nn.ReLU())

    def forward(self, x):
        return self.body(x)


class SAPNet(nn.Module):
    def __init__(self, stages=6, c=32):
        super().__init__()
        self.stages, self.c = stages, c
        self.conv0 = nn.Sequential(nn.Conv2d(6, c, 3, padding=1), nn.ReLU())
        self.units = nn.ModuleList([Unit(c, d) for d in (1, 2, 4, 8, 16)])
        self.gates = nn.ModuleList([nn.Conv2d(2 * c, c, 3, padding=1) for _ in range(4)])
        self.out = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, rainy):
        n, _, h, w = rainy.shape
        hidden = rainy.new_zeros(n, self.c, h, w)
        cell = rainy.new_zeros(n, self.c, h, w)
        x = rainy
        for _ in range(self.stages):
            feat = self.conv0(torch.cat((rainy, x), 1))
            both = torch.cat((feat, hidden), 1)
            i, f = torch.sigmoid(self.gates[0](both)), torch.sigmoid(self.gates[1](both))
            g, o = torch.tanh(self.gates[2](both)), torch.sigmoid(self.gates[3](both))
            cell = f * cell + i * g
            hidden = o * torch.tanh(cell)
            feat = hidden
            for unit in self.units:
                feat = torch.relu(unit(feat) + feat)
            x = self.out(feat) + rainy
        return x


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--stages", type=int, default=6)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    torch.set_num_threads(args.threads)
    net = SAPNet(args.stages).eval()
    x = torch.rand(1, 3, h, w)
    with torch.inference_mode():
        for _ in range(args.warmup):
            net(x)
        t0 = time.perf_counter()
        for _ in range(args.frames):
            net(x)
        ms = 1000 * (time.perf_counter() - t0) / args.frames
    print(json.dumps({"torch": torch.__version__, "size": args.size, "ms_per_frame": ms}))


if __name__ == "__main__":
    main()
