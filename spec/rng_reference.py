#!/usr/bin/python3
"""Independent reference for lunet's generator (src/kernels/rng.c).

xoshiro256** (Blackman & Vigna) seeded by splitmix64, uniforms from the top
53 bits, Gaussians by Box-Muller (cos first, then the spare sin value), and
every value rounded to float32 as lunet stores it.  Prints the values that
spec/rng_spec.lua pins:  /usr/bin/python3 spec/rng_reference.py
"""
import math
import struct

M64 = (1 << 64) - 1


def splitmix64(state):
    """Return (new_state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Rng:
    def __init__(self, seed):
        x = seed & M64
        self.s = []
        for _ in range(4):
            x, out = splitmix64(x)
            self.s.append(out)
        self.spare = None

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def normal(self):
        if self.spare is not None:
            v, self.spare = self.spare, None
            return v
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        rad = math.sqrt(-2.0 * math.log(u1))
        th = 6.283185307179586476925 * u2
        self.spare = rad * math.sin(th)
        return rad * math.cos(th)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def main():
    for seed in (42, 0):
        r = Rng(seed)
        print("seed %d randn(4): %s" % (seed, ", ".join("%.9g" % f32(r.normal()) for _ in range(4))))
        r = Rng(seed)
        print("seed %d rand(4):  %s" % (seed, ", ".join("%.9g" % f32(r.uniform()) for _ in range(4))))
    r = Rng(42)
    print("seed 42 first raw outputs: %s" % ", ".join("0x%016x" % r.next() for _ in range(3)))


if __name__ == "__main__":
    main()
