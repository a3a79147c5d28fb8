# Reference numbers for tests/test_losses.cpp, computed independently with PyTorch 1.13 and
# torchvision 0.14 (Debian's python3-torch, python3-torchvision). Not part of the build: run by hand
#   /usr/bin/python3 tests/reference/losses_reference.py ../shared/weights/lpips-linear/v0.1_vgg.pth
import math, sys
import torch
import torch.nn.functional as F
import torchvision

torch.set_default_dtype(torch.float64)

def fill(shape, a, b, freq, phase):
    n = math.prod(shape)
    i = torch.arange(n, dtype=torch.float64)
    return (a + b * torch.sin(freq * i + phase)).reshape(shape)

D = fill((2, 3, 32, 32), 0.5, 0.4, 0.37, 0.0)
G = fill((2, 3, 32, 32), 0.5, 0.4, 0.23, 1.0)
R = fill((2, 3, 32, 32), 0.5, 0.4, 0.11, 2.0)

# SSIM as pytorch_ssim (the authors' training code): Gaussian 11 / 1.5, zero padding 5, groups = C.
def ssim(x, y):
    g = torch.tensor([math.exp(-(k - 5) ** 2 / (2 * 1.5 ** 2)) for k in range(11)])
    g = g / g.sum()
    w = (g[:, None] @ g[None, :]).expand(3, 1, 11, 11).contiguous()
    mu1, mu2 = F.conv2d(x, w, padding=5, groups=3), F.conv2d(y, w, padding=5, groups=3)
    s11 = F.conv2d(x * x, w, padding=5, groups=3) - mu1 ** 2
    s22 = F.conv2d(y * y, w, padding=5, groups=3) - mu2 ** 2
    s12 = F.conv2d(x * y, w, padding=5, groups=3) - mu1 * mu2
    C1, C2 = 0.01 ** 2, 0.03 ** 2
    return (((2 * mu1 * mu2 + C1) * (2 * s12 + C2)) / ((mu1 ** 2 + mu2 ** 2 + C1) * (s11 + s22 + C2))).mean()

print("ssim", repr(ssim(D, G).item()))

# VGG-16 with deterministic weights: parameter j of features (in state-dict order).
vgg = torchvision.models.vgg16().features.double()
with torch.no_grad():
    for j, (name, p) in enumerate(vgg.named_parameters()):
        if p.dim() == 4:
            fan_in = p.shape[1] * 9
            p.copy_(fill(p.shape, 0.0, 1.7 * math.sqrt(2.0 / fan_in), 0.013, float(j)))
        else:
            p.copy_(0.01 * torch.cos(0.7 * torch.arange(p.numel(), dtype=torch.float64) + j))

taps = {3: 0, 8: 1, 15: 2, 22: 3, 29: 4}  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
def feats(x):
    out = []
    for k, layer in enumerate(vgg):
        x = layer(x)
        if k in taps:
            out.append(x)
    return out

mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
fd, fg, fr = feats((D - mean) / std), feats((G - mean) / std), feats((R - mean) / std)
pcl = sum(w * F.l1_loss(fd[i], fg[i]) / (F.l1_loss(fd[i], fr[i]) + 1e-7)
          for i, w in enumerate([1 / 32, 1 / 16, 1 / 8, 1 / 4]))
print("pcl", repr(pcl.item()))

# LPIPS (lpips package's formula): scaling layer, unit-normalised channels, squared diff, 1x1 heads.
heads = torch.load(sys.argv[1], map_location="cpu")
shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
a, b = feats((D * 2 - 1 - shift) / scale), feats((G * 2 - 1 - shift) / scale)
def unit(t):
    return t / (torch.sqrt((t ** 2).sum(1, keepdim=True)) + 1e-10)
lp = sum(F.conv2d((unit(a[k]) - unit(b[k])) ** 2, heads[f"lin{k}.model.1.weight"].double()).mean([2, 3])
         for k in range(5))
print("lpips", repr(lp.mean().item()))

# Focal loss, alpha 0.25, gamma 2.
logits = fill((2, 4, 5, 6), 0.0, 2.0, 0.37, 0.5)
target = (torch.arange(60) * 7 % 4).reshape(2, 5, 6)
logp = F.log_softmax(logits, 1).gather(1, target.unsqueeze(1)).squeeze(1)
print("focal", repr((-0.25 * (1 - logp.exp()) ** 2 * logp).mean().item()))
