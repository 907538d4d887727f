#!/usr/bin/env python3
"""Minimal, faithful re-implementation of the official LLS training path for an MLP
(mapolinario94/LLS-DNN, models/layers/lls_layers.py at HEAD: basis version B), used as the
float throughput reference for the golden model. See docs/bench-reference.md.

Network: x(784) -> LLS_layer(Linear(784,256) -> BatchNorm1d(256) -> LeakyReLU(0.01))
              -> Linear(256,10) (own CE loss, own optimizer)
Per batch, exactly as the official code:
  LLS layer:  out = block(x.detach()); loss = compute_LLS(out, y, T=0.5, act_size=256,
              n_classes=10, waveform="square"); opt.zero_grad(); loss.backward(); opt.step();
              record_statistics (loss.item()); return out.detach()
  classifier: y_pred = linear(h); loss = CE(y_pred, y); opt.zero_grad(); backward; step
Optimizers: schedulefree.AdamWScheduleFree(lr=5e-3), one per layer (PyPI package the
official utils/adamwschedulefree.py was copied from).

Batch 1: train-mode BatchNorm1d rejects a batch of one ("Expected more than 1 value per
channel when training"), so the batch-1 run replaces BN by Identity (what a batch-1 device
does too). The batch-128 run is also repeated without BN for a like-for-like figure.

Prints one JSON object on stdout; progress goes to stderr.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import schedulefree
from schedulefree import AdamWScheduleFree

LR = 5e-3
TEMPERATURE = 0.5


# ---- official compute path (CPU instead of .cuda()) ---------------------------------------
def generate_frequency_matrix(num_rows, num_cols, min_freq=50, max_freq=2000):
    frequencies = torch.linspace(min_freq, max_freq, num_rows).unsqueeze(1)
    t = torch.arange(num_cols).float().unsqueeze(0)
    return torch.sin(frequencies * t)


def compute_lls(activation, labels, temperature, act_size, n_classes, waveform="square"):
    batch_size = activation.size(0)
    latents = F.adaptive_avg_pool1d(activation, act_size).view(batch_size, -1)
    # Rebuilt on every call, as in the official code.
    basis = generate_frequency_matrix(n_classes, latents.size(1), max_freq=512)
    if waveform == "square":
        basis = torch.sign(basis)
    latents = F.normalize(latents, dim=1)
    layer_pred = torch.matmul(latents, basis.T)
    return F.cross_entropy(layer_pred / temperature, labels, label_smoothing=0.0)


class LinearBlock(nn.Module):
    def __init__(self, fan_in, fan_out, batchnorm=True):
        super().__init__()
        self.linear = nn.Linear(fan_in, fan_out, bias=True)
        self.bn = nn.BatchNorm1d(fan_out) if batchnorm else nn.Identity()
        self.nonlinearity = nn.LeakyReLU(inplace=False)  # negative_slope 0.01

    def forward(self, x):
        return self.nonlinearity(self.bn(self.linear(x)))


class LLSLayer(nn.Module):
    def __init__(self, block, n_classes, pooling_size, temperature=TEMPERATURE, lr=LR):
        super().__init__()
        self.block = block
        self.n_classes = n_classes
        self.pooling_size = pooling_size
        self.temperature = temperature
        self.optimizer = AdamWScheduleFree(self.parameters(), lr=lr, weight_decay=0)
        self.loss_hist = 0.0
        self.samples = 0

    def forward(self, x, labels=None):
        if not self.training or labels is None:
            return self.block(x)
        out = self.block(x.detach())
        loss = compute_lls(out, labels, self.temperature, self.pooling_size, self.n_classes)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        # record_statistics(loss.detach(), batch) as in the official layer
        self.loss_hist += loss.detach().item() * x.size(0)
        self.samples += x.size(0)
        return out.detach()


class LLSMLP(nn.Module):
    def __init__(self, inputs=784, hidden=256, classes=10, batchnorm=True, lr=LR):
        super().__init__()
        self.fc1 = LLSLayer(LinearBlock(inputs, hidden, batchnorm), classes, pooling_size=hidden,
                            lr=lr)
        self.linear = nn.Linear(hidden, classes)
        self.optimizer = AdamWScheduleFree(self.linear.parameters(), lr=lr, weight_decay=0)

    def optimizers(self):
        return [self.fc1.optimizer, self.optimizer]

    def forward(self, x, labels=None):
        x = self.fc1(x.view(x.size(0), -1), labels)
        y_pred = self.linear(x)
        if self.training and labels is not None:
            loss = F.cross_entropy(y_pred, labels)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        return y_pred


# ---- data -----------------------------------------------------------------------------
def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(folder, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"))
    x = (images.reshape(len(images), -1).astype(np.float32) / 255.0 - 0.5) / 0.5
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


# ---- measurement ----------------------------------------------------------------------
def train_steps(model, x, y, batch, start, count):
    """count consecutive mini-batches starting at sample `start`, cycling the split."""
    n = x.size(0)
    pos = start
    for _ in range(count):
        if pos + batch > n:
            pos = 0
        model(x[pos:pos + batch], y[pos:pos + batch])
        pos += batch
    return pos


@torch.no_grad()
def test_accuracy(model, x_train, y_train, x_test, y_test, batch):
    """The official evaluation: optimizers to eval (averaged weights), 50 train batches
    forward in train mode to re-estimate BN statistics, then the test set in eval mode."""
    for opt in model.optimizers():
        opt.eval()
    model.train()
    for i in range(50):
        model(x_train[i * batch:(i + 1) * batch])
    model.eval()
    correct = 0
    for i in range(0, x_test.size(0), 1000):
        correct += (model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum().item()
    model.train()
    for opt in model.optimizers():
        opt.train()
    return correct / x_test.size(0)


def measure(name, x, y, xt, yt, batch, samples, warmup_batches, batchnorm, seed):
    torch.manual_seed(seed)
    model = LLSMLP(batchnorm=batchnorm)
    model.train()
    for opt in model.optimizers():
        opt.train()
    batches = max(1, -(-samples // batch))
    pos = train_steps(model, x, y, batch, 0, warmup_batches)
    t0 = time.perf_counter()
    train_steps(model, x, y, batch, pos, batches)
    seconds = time.perf_counter() - t0
    done = batches * batch
    trained = (warmup_batches + batches) * batch
    acc = test_accuracy(model, x, y, xt, yt, 128) if batchnorm else None
    if acc is None:
        with torch.no_grad():
            for opt in model.optimizers():
                opt.eval()
            model.eval()
            acc = (model(xt).argmax(1) == yt).float().mean().item()
    r = {
        "batch": batch,
        "batchnorm": batchnorm,
        "warmup_batches": warmup_batches,
        "samples": done,
        "seconds": seconds,
        "samples_per_second": done / seconds,
        "test_accuracy_after": acc,
        "samples_trained_before_test": trained,
        "lls_layer_mean_loss": model.fc1.loss_hist / max(1, model.fc1.samples),
    }
    print(f"{name}: {r['samples_per_second']:.0f} samples/s ({done} samples, "
          f"{seconds:.2f} s); test acc after {trained} samples {acc:.4f}", file=sys.stderr)
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="data/mnist")
    p.add_argument("--samples-b128", type=int, default=20000)
    p.add_argument("--samples-b1", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    x, y = load_mnist(a.data, "train")
    xt, yt = load_mnist(a.data, "test")

    runs = {
        "batch128": measure("torch batch 128 (BN)", x, y, xt, yt, 128, a.samples_b128,
                            warmup_batches=10, batchnorm=True, seed=a.seed),
        "batch128_nobn": measure("torch batch 128 (no BN)", x, y, xt, yt, 128,
                                 a.samples_b128, warmup_batches=10, batchnorm=False,
                                 seed=a.seed),
        "batch1": measure("torch batch 1 (no BN)", x, y, xt, yt, 1, a.samples_b1,
                          warmup_batches=100, batchnorm=False, seed=a.seed),
    }
    report = {
        "reference": "official LLS code path (mapolinario94/LLS-DNN, basis version B), "
                     "784-256-10 MLP, square basis, T=0.5, AdamWScheduleFree lr 5e-3",
        "torch_version": torch.__version__,
        "schedulefree_version": getattr(schedulefree, "__version__", None)
        or _dist_version("schedulefree"),
        "numpy_version": np.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "torch_parallel_info": torch.__config__.parallel_info().splitlines()[:6],
        "runs": runs,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return None


if __name__ == "__main__":
    main()
