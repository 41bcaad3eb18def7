#!/usr/bin/env python3
"""Training-speed baseline: PyTorch (CPU) on the recipe `./compresso distill` runs.

A 6-layer BERT teacher (all-MiniLM-L6-v2's shape: hidden 384, 12 heads, FFN 1536) and a 3-layer student of the
same width; per step: teacher forward without gradients, student forward and backward, cosine loss on mean-pooled
embeddings plus hidden-state MSE over the layer map, gradient clipping, AdamW. Batches of real sentences (token ids
written by `./compresso corpus --format ids`), in seeded random order, padded to the batch's longest with an
attention mask, as PyTorch training code does. Weights are random: speed depends on shapes only.

Prints tokens/s counting real tokens (not padding), the figure `./compresso distill` prints.
Benchmark code only; nothing in Compresso depends on it.

    python3 jmh/pytorch/train_speed.py IDS_FILE [--steps 40] [--batch 32] [--threads 2]
"""
import argparse, math, random, time
import torch
import torch.nn as nn
import torch.nn.functional as F

H, HEADS, FFN, VOCAB, POS = 384, 12, 1536, 30522, 512


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(H, 3 * H)
        self.out = nn.Linear(H, H)
        self.n1 = nn.LayerNorm(H, eps=1e-12)
        self.f1 = nn.Linear(H, FFN)
        self.f2 = nn.Linear(FFN, H)
        self.n2 = nn.LayerNorm(H, eps=1e-12)

    def forward(self, x, bias):
        b, s, _ = x.shape
        q, k, v = self.qkv(x).view(b, s, 3, HEADS, H // HEADS).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(H // HEADS) + bias, dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(b, s, H)
        x = self.n1(x + self.out(ctx))
        return self.n2(x + self.f2(F.gelu(self.f1(x))))


class Encoder(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.word = nn.Embedding(VOCAB, H)
        self.pos = nn.Embedding(POS, H)
        self.token_type = nn.Embedding(2, H)
        self.norm = nn.LayerNorm(H, eps=1e-12)
        self.layers = nn.ModuleList(Layer() for _ in range(layers))

    def forward(self, ids, mask):
        b, s = ids.shape
        x = self.norm(self.word(ids) + self.pos(torch.arange(s)).unsqueeze(0) + self.token_type(torch.zeros_like(ids)))
        bias = (1.0 - mask[:, None, None, :].float()) * -1e9
        outs = [x]
        for layer in self.layers:
            x = layer(x, bias)
            outs.append(x)
        return outs


def pool(h, mask):
    m = mask.unsqueeze(-1).float()
    return (h * m).sum(1) / m.sum(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ids")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--bucket", action="store_true",
                    help="batches of similar length (sorted, then batches shuffled): less padding, PyTorch's best case")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    seqs = [[int(t) for t in line.split()] for line in open(a.ids) if line.strip()]
    random.Random(a.seed).shuffle(seqs)
    if a.bucket:
        seqs = seqs[:(a.warmup + a.steps) * a.batch * 20]
        seqs.sort(key=len)
        batches = [seqs[i:i + a.batch] for i in range(0, len(seqs), a.batch)]
        random.Random(a.seed).shuffle(batches)
        seqs = [x for b in batches for x in b]
    teacher, student = Encoder(6).eval(), Encoder(3)
    opt = torch.optim.AdamW(student.parameters(), lr=3e-4, weight_decay=0.01, eps=1e-6)
    layer_map = [(1, 2), (2, 4), (3, 6)]  # student output j <-> teacher output
    tokens, t0 = 0, None
    for step in range(a.warmup + a.steps):
        if step == a.warmup:
            tokens, t0 = 0, time.perf_counter()
        batch = seqs[step * a.batch:(step + 1) * a.batch]
        s = max(len(x) for x in batch)
        ids = torch.tensor([x + [0] * (s - len(x)) for x in batch])
        mask = torch.tensor([[1] * len(x) + [0] * (s - len(x)) for x in batch])
        with torch.no_grad():
            t = teacher(ids, mask)
        o = student(ids, mask)
        loss = (1 - F.cosine_similarity(pool(o[-1], mask), pool(t[-1], mask))).mean()
        m = mask.unsqueeze(-1).float()
        for j, k in layer_map:
            loss = loss + (((o[j] - t[k]) ** 2) * m).sum() / (m.sum() * H) / len(layer_map)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        tokens += int(mask.sum())
    dt = time.perf_counter() - t0
    print(f"pytorch {torch.__version__} threads {a.threads} batch {a.batch} steps {a.steps}"
          f"{' bucketed' if a.bucket else ''}: "
          f"{tokens} tokens in {dt:.1f} s = {tokens / dt:.0f} tokens/s")


if __name__ == "__main__":
    main()
