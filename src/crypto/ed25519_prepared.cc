// Ed25519 verification over edwards25519 with precomputed tables.
//
// Field elements mod p = 2^255 - 19 are five 51-bit limbs multiplied through
// unsigned __int128. Points use the twisted Edwards coordinates of Hisil, Wong,
// Carter and Dawson (a = -1): extended (X:Y:Z:T) with x = X/Z, y = Y/Z,
// T = XY/Z; "completed" points (X:Y:Z:T) with x = X/Z, y = Y/T as the output
// of doubling and addition; affine "Niels" form (y+x, y-x, 2dxy) for table
// entries. Curve constants are derived from their definitions in RFC 8032
// (d = -121665/121666, B has y = 4/5 and even x) when the base tables are built.
//
// Verification computes [s]B + [h](-A) with scalars in width-w non-adjacent
// form, split into sixteen 16-bit chunks: chunk c of a scalar multiplies
// 2^(16c) times the point, so one chain of 16 doublings serves all chunks.
// Everything here is variable-time: it only ever sees public data.
#include "custos/crypto/ed25519_prepared.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>

namespace custos {

namespace {

__extension__ typedef unsigned __int128 u128;  // GCC and Clang extension
__extension__ typedef __int128 i128;

constexpr uint64_t kMask51 = (uint64_t{1} << 51) - 1;

// ---------------------------------------------------------------- field ----

// Limb bounds. "Reduced": every limb below 2^52 (what mul, sqr and sub
// return; from_bytes gives below 2^51). "Loose": every limb below 2^54, still
// a valid mul/sqr input (the column sums then stay below 77 * 2^108, so each
// carry out of a column, even times 19, fits in 64 bits). add of two reduced
// elements and sub_loose give loose elements without carrying.
struct Fe {
  uint64_t v[5];
};

constexpr Fe kFeZero{{0, 0, 0, 0, 0}};
constexpr Fe kFeOne{{1, 0, 0, 0, 0}};

inline void carry(Fe& h) {
  for (int i = 0; i < 4; ++i) {
    h.v[i + 1] += h.v[i] >> 51;
    h.v[i] &= kMask51;
  }
  const uint64_t top = h.v[4] >> 51;
  h.v[4] &= kMask51;
  h.v[0] += top * 19;
}

inline Fe add(const Fe& f, const Fe& g) {
  return Fe{{f.v[0] + g.v[0], f.v[1] + g.v[1], f.v[2] + g.v[2], f.v[3] + g.v[3], f.v[4] + g.v[4]}};
}

// f + 4p - g without carrying: g's limbs must be below 2^53 - 76; the result
// is loose when f's limbs are below 2^53.
inline Fe sub_loose(const Fe& f, const Fe& g) {
  constexpr uint64_t k4p0 = (uint64_t{1} << 53) - 76;
  constexpr uint64_t k4pi = (uint64_t{1} << 53) - 4;
  return Fe{{f.v[0] + k4p0 - g.v[0], f.v[1] + k4pi - g.v[1], f.v[2] + k4pi - g.v[2],
             f.v[3] + k4pi - g.v[3], f.v[4] + k4pi - g.v[4]}};
}

// f - g, reduced (same bounds on g as sub_loose, f below 2^63).
inline Fe sub(const Fe& f, const Fe& g) {
  Fe h = sub_loose(f, g);
  carry(h);
  return h;
}

inline Fe neg(const Fe& f) { return sub(kFeZero, f); }

// Folds the five 128-bit column sums of a product of loose elements into a
// reduced element. The carries of all columns are taken at once (then once
// more, from limbs below 2^64) instead of one after the other, which shortens
// the chain of dependent instructions every multiplication waits for.
inline Fe reduce_columns(u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  // Column i is below 77 * 2^108 (r4 below 5 * 2^108), so c_i < 2^63.3 and
  // 19 * c4 < 2^63.6.
  const uint64_t c0 = static_cast<uint64_t>(r0 >> 51);
  const uint64_t c1 = static_cast<uint64_t>(r1 >> 51);
  const uint64_t c2 = static_cast<uint64_t>(r2 >> 51);
  const uint64_t c3 = static_cast<uint64_t>(r3 >> 51);
  const uint64_t c4 = static_cast<uint64_t>(r4 >> 51);
  const uint64_t h0 = (static_cast<uint64_t>(r0) & kMask51) + 19 * c4;
  const uint64_t h1 = (static_cast<uint64_t>(r1) & kMask51) + c0;
  const uint64_t h2 = (static_cast<uint64_t>(r2) & kMask51) + c1;
  const uint64_t h3 = (static_cast<uint64_t>(r3) & kMask51) + c2;
  const uint64_t h4 = (static_cast<uint64_t>(r4) & kMask51) + c3;
  // h_i < 2^64, so h_i >> 51 < 2^13 and every limb ends below 2^51 + 2^18.
  return Fe{{(h0 & kMask51) + 19 * (h4 >> 51), (h1 & kMask51) + (h0 >> 51),
             (h2 & kMask51) + (h1 >> 51), (h3 & kMask51) + (h2 >> 51),
             (h4 & kMask51) + (h3 >> 51)}};
}

[[gnu::always_inline]] inline Fe mul(const Fe& f, const Fe& g) {
  const uint64_t f0 = f.v[0], f1 = f.v[1], f2 = f.v[2], f3 = f.v[3], f4 = f.v[4];
  const uint64_t g0 = g.v[0], g1 = g.v[1], g2 = g.v[2], g3 = g.v[3], g4 = g.v[4];
  const uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
  u128 r0 = static_cast<u128>(f0) * g0 + static_cast<u128>(f1) * g4_19 +
            static_cast<u128>(f2) * g3_19 + static_cast<u128>(f3) * g2_19 +
            static_cast<u128>(f4) * g1_19;
  u128 r1 = static_cast<u128>(f0) * g1 + static_cast<u128>(f1) * g0 +
            static_cast<u128>(f2) * g4_19 + static_cast<u128>(f3) * g3_19 +
            static_cast<u128>(f4) * g2_19;
  u128 r2 = static_cast<u128>(f0) * g2 + static_cast<u128>(f1) * g1 + static_cast<u128>(f2) * g0 +
            static_cast<u128>(f3) * g4_19 + static_cast<u128>(f4) * g3_19;
  u128 r3 = static_cast<u128>(f0) * g3 + static_cast<u128>(f1) * g2 + static_cast<u128>(f2) * g1 +
            static_cast<u128>(f3) * g0 + static_cast<u128>(f4) * g4_19;
  u128 r4 = static_cast<u128>(f0) * g4 + static_cast<u128>(f1) * g3 + static_cast<u128>(f2) * g2 +
            static_cast<u128>(f3) * g1 + static_cast<u128>(f4) * g0;
  return reduce_columns(r0, r1, r2, r3, r4);
}

[[gnu::always_inline]] inline Fe sqr(const Fe& f) {
  const uint64_t f0 = f.v[0], f1 = f.v[1], f2 = f.v[2], f3 = f.v[3], f4 = f.v[4];
  const uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1;
  const uint64_t f1_38 = 38 * f1, f2_38 = 38 * f2, f3_38 = 38 * f3;
  const uint64_t f3_19 = 19 * f3, f4_19 = 19 * f4;
  u128 r0 = static_cast<u128>(f0) * f0 + static_cast<u128>(f1_38) * f4 +
            static_cast<u128>(f2_38) * f3;
  u128 r1 = static_cast<u128>(f0_2) * f1 + static_cast<u128>(f2_38) * f4 +
            static_cast<u128>(f3_19) * f3;
  u128 r2 = static_cast<u128>(f0_2) * f2 + static_cast<u128>(f1) * f1 +
            static_cast<u128>(f3_38) * f4;
  u128 r3 = static_cast<u128>(f0_2) * f3 + static_cast<u128>(f1_2) * f2 +
            static_cast<u128>(f4_19) * f4;
  u128 r4 = static_cast<u128>(f0_2) * f4 + static_cast<u128>(f1_2) * f3 +
            static_cast<u128>(f2) * f2;
  return reduce_columns(r0, r1, r2, r3, r4);
}

inline Fe sqr_times(Fe f, int times) {
  for (int i = 0; i < times; ++i) f = sqr(f);
  return f;
}

inline uint64_t load64_le(const uint8_t* in) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | in[i];
  return value;
}

inline void store64_le(uint8_t* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

// The low 255 bits of a little-endian 32-byte string (bit 255 ignored).
Fe from_bytes(const uint8_t in[32]) {
  return Fe{{load64_le(in) & kMask51, (load64_le(in + 6) >> 3) & kMask51,
             (load64_le(in + 12) >> 6) & kMask51, (load64_le(in + 19) >> 1) & kMask51,
             (load64_le(in + 24) >> 12) & kMask51}};
}

// The canonical encoding (value fully reduced below p).
std::array<uint8_t, 32> to_bytes(const Fe& f) {
  Fe t = f;
  carry(t);
  carry(t);  // now t < 2^255 + 19 < 2p
  uint64_t q = (t.v[0] + 19) >> 51;
  q = (t.v[1] + q) >> 51;
  q = (t.v[2] + q) >> 51;
  q = (t.v[3] + q) >> 51;
  q = (t.v[4] + q) >> 51;  // 1 exactly when t >= p
  t.v[0] += 19 * q;
  for (int i = 0; i < 4; ++i) {
    t.v[i + 1] += t.v[i] >> 51;
    t.v[i] &= kMask51;
  }
  t.v[4] &= kMask51;  // drops the 2^255 of t + 19 - 2^255 = t - p
  std::array<uint8_t, 32> out{};
  store64_le(out.data(), t.v[0] | (t.v[1] << 51));
  store64_le(out.data() + 8, (t.v[1] >> 13) | (t.v[2] << 38));
  store64_le(out.data() + 16, (t.v[2] >> 26) | (t.v[3] << 25));
  store64_le(out.data() + 24, (t.v[3] >> 39) | (t.v[4] << 12));
  return out;
}

bool is_zero(const Fe& f) {
  std::array<uint8_t, 32> bytes = to_bytes(f);
  uint8_t any = 0;
  for (uint8_t byte : bytes) any |= byte;
  return any == 0;
}

bool is_negative(const Fe& f) { return (to_bytes(f)[0] & 1) != 0; }

// z^(2^250 - 1), the common prefix of the inversion and square-root chains;
// also returns z^11 for the inversion.
Fe pow_2_250_minus_1(const Fe& z, Fe* z11) {
  Fe z2 = sqr(z);                      // 2
  Fe z9 = mul(sqr_times(z2, 2), z);    // 9
  Fe z11_local = mul(z9, z2);          // 11
  Fe z_5_0 = mul(sqr(z11_local), z9);  // 2^5 - 1
  Fe z_10_0 = mul(sqr_times(z_5_0, 5), z_5_0);
  Fe z_20_0 = mul(sqr_times(z_10_0, 10), z_10_0);
  Fe z_40_0 = mul(sqr_times(z_20_0, 20), z_20_0);
  Fe z_50_0 = mul(sqr_times(z_40_0, 10), z_10_0);
  Fe z_100_0 = mul(sqr_times(z_50_0, 50), z_50_0);
  Fe z_200_0 = mul(sqr_times(z_100_0, 100), z_100_0);
  Fe z_250_0 = mul(sqr_times(z_200_0, 50), z_50_0);
  if (z11 != nullptr) *z11 = z11_local;
  return z_250_0;
}

// z^(p-2) = z^(2^255 - 21) = 1/z for z != 0.
Fe invert(const Fe& z) {
  Fe z11;
  Fe z_250_0 = pow_2_250_minus_1(z, &z11);
  return mul(sqr_times(z_250_0, 5), z11);
}

// ------------------------------------------------- variable-time inverse ----
//
// 1/z by Bernstein and Yang's "divsteps" ("Fast constant-time gcd computation
// and modular inversion", 2019), run for as long as the data needs instead of
// a fixed bound: about a third of the cost of the exponentiation above. Only
// for public values.
//
// Numbers are five signed limbs in radix 2^62 (value = sum v[i] 2^(62i)),
// normalized when limbs 0..3 are in [0, 2^62) and limb 4 carries the sign;
// p = 2^255 - 19 is {-19, 0, 0, 0, 2^7} in this radix.
struct Signed62 {
  int64_t v[5];
};

constexpr int64_t kMask62 = (int64_t{1} << 62) - 1;

// -1/p mod 2^62 = 1/19 mod 2^62 (p = -19 mod 2^62), by Newton's iteration.
constexpr uint64_t kInv19Mod2_62 = [] {
  uint64_t x = 1;  // 1/19 mod 2
  for (int i = 0; i < 6; ++i) x *= 2 - 19 * x;  // doubles the correct bits
  return x & static_cast<uint64_t>(kMask62);
}();
static_assert(((kInv19Mod2_62 * 19) & kMask62) == 1);

// The 2x2 matrix of 62 divsteps, scaled by 2^62: after the steps,
// 2^62 f' = u f + v g and 2^62 g' = q f + r g.
struct Transition {
  int64_t u, v, q, r;
};

// 62 divsteps on the low 64 bits of f (odd) and g, updating delta. Runs of
// even g are skipped at once; bit i of g after n steps only depends on bits
// below i + n + 1 of the inputs, so 64 bits are enough for 62 steps.
Transition divsteps_62(int64_t& delta, uint64_t f, uint64_t g) {
  int64_t u = 1, v = 0, q = 0, r = 1;
  int left = 62;
  for (;;) {
    // Halvings: g /= 2^zeros while doubling u and v (the matrix's scale).
    const int zeros = __builtin_ctzll(g | (uint64_t{1} << left));
    g >>= zeros;
    u = static_cast<int64_t>(static_cast<uint64_t>(u) << zeros);
    v = static_cast<int64_t>(static_cast<uint64_t>(v) << zeros);
    delta += zeros;
    left -= zeros;
    if (left == 0) break;
    // g is odd: with delta > 0, (f, g) becomes (g, -f) and delta -delta,
    // then g += f; the halving that completes the step is the next loop's.
    if (delta > 0) {
      delta = -delta;
      const uint64_t old_f = f;
      f = g;
      g = uint64_t{0} - old_f;
      const int64_t old_u = u, old_v = v;
      u = q;
      v = r;
      q = -old_u;
      r = -old_v;
    }
    g += f;
    q += u;
    r += v;
  }
  return Transition{u, v, q, r};
}

// (a, b) <- ((u a + v b + ma p) / 2^62, (q a + r b + mb p) / 2^62); the
// caller makes both sums divisible by 2^62. Limbs of a and b below 2^62 in
// magnitude (and the matrix's entries at most 2^62), so no column overflows.
void apply_transition(const Transition& t, Signed62& a, Signed62& b, int64_t ma, int64_t mb) {
  // p's limbs are -19 (limb 0) and 2^7 (limb 4).
  i128 ca = static_cast<i128>(t.u) * a.v[0] + static_cast<i128>(t.v) * b.v[0] -
            static_cast<i128>(ma) * 19;
  i128 cb = static_cast<i128>(t.q) * a.v[0] + static_cast<i128>(t.r) * b.v[0] -
            static_cast<i128>(mb) * 19;
  ca >>= 62;
  cb >>= 62;
  for (int i = 1; i < 5; ++i) {
    ca += static_cast<i128>(t.u) * a.v[i] + static_cast<i128>(t.v) * b.v[i];
    cb += static_cast<i128>(t.q) * a.v[i] + static_cast<i128>(t.r) * b.v[i];
    if (i == 4) {
      ca += static_cast<i128>(ma) * 128;
      cb += static_cast<i128>(mb) * 128;
    }
    a.v[i - 1] = static_cast<int64_t>(ca) & kMask62;
    b.v[i - 1] = static_cast<int64_t>(cb) & kMask62;
    ca >>= 62;
    cb >>= 62;
  }
  a.v[4] = static_cast<int64_t>(ca);
  b.v[4] = static_cast<int64_t>(cb);
}

// Normalizes the limbs of x and brings it into [0, 2^255) by adding or
// subtracting p.
void normalize_below_2_255(Signed62& x) {
  for (;;) {
    for (int i = 0; i < 4; ++i) {
      x.v[i + 1] += x.v[i] >> 62;  // arithmetic shift: borrows too
      x.v[i] &= kMask62;
    }
    if (x.v[4] < 0) {
      x.v[0] -= 19;  // + p
      x.v[4] += 128;
    } else if (x.v[4] >= 128) {
      x.v[0] += 19;  // - p
      x.v[4] -= 128;
    } else {
      return;
    }
  }
}

// (u d + v e) / 2^62 and (q d + r e) / 2^62 mod p, for d and e in [0, 2^255):
// a multiple of p makes each sum divisible by 2^62; the results, in
// (-2^255, 2^256), are brought back into [0, 2^255).
void apply_to_de(const Transition& t, Signed62& d, Signed62& e) {
  const uint64_t low_d = static_cast<uint64_t>(t.u) * static_cast<uint64_t>(d.v[0]) +
                         static_cast<uint64_t>(t.v) * static_cast<uint64_t>(e.v[0]);
  const uint64_t low_e = static_cast<uint64_t>(t.q) * static_cast<uint64_t>(d.v[0]) +
                         static_cast<uint64_t>(t.r) * static_cast<uint64_t>(e.v[0]);
  // sum + m p = sum - 19 m = 0 mod 2^62 for m = sum / 19.
  const int64_t md = static_cast<int64_t>((low_d * kInv19Mod2_62) & kMask62);
  const int64_t me = static_cast<int64_t>((low_e * kInv19Mod2_62) & kMask62);
  apply_transition(t, d, e, md, me);
  normalize_below_2_255(d);
  normalize_below_2_255(e);
}

Signed62 signed62_from_bytes(const std::array<uint8_t, 32>& bytes) {
  const uint64_t w0 = load64_le(bytes.data()), w1 = load64_le(bytes.data() + 8),
                 w2 = load64_le(bytes.data() + 16), w3 = load64_le(bytes.data() + 24);
  const uint64_t mask = static_cast<uint64_t>(kMask62);
  return Signed62{{static_cast<int64_t>(w0 & mask),
                   static_cast<int64_t>(((w0 >> 62) | (w1 << 2)) & mask),
                   static_cast<int64_t>(((w1 >> 60) | (w2 << 4)) & mask),
                   static_cast<int64_t>(((w2 >> 58) | (w3 << 6)) & mask),
                   static_cast<int64_t>(w3 >> 56)}};
}

// The little-endian encoding of a normalized x in [0, 2^255).
std::array<uint8_t, 32> signed62_to_bytes(const Signed62& x) {
  uint64_t v[5];
  for (int i = 0; i < 5; ++i) v[i] = static_cast<uint64_t>(x.v[i]);
  std::array<uint8_t, 32> out{};
  store64_le(out.data(), v[0] | (v[1] << 62));
  store64_le(out.data() + 8, (v[1] >> 2) | (v[2] << 60));
  store64_le(out.data() + 16, (v[2] >> 4) | (v[3] << 58));
  store64_le(out.data() + 24, (v[3] >> 6) | (v[4] << 56));
  return out;
}

bool signed62_is_zero(const Signed62& x) {
  return (x.v[0] | x.v[1] | x.v[2] | x.v[3] | x.v[4]) == 0;
}

// 1/z for z != 0 (0 for z = 0, like invert).
Fe invert_vartime(const Fe& z) {
  Signed62 f{{-19, 0, 0, 0, 128}};  // p
  Signed62 g = signed62_from_bytes(to_bytes(z));
  if (signed62_is_zero(g)) return kFeZero;
  // Invariants: f = d z and g = e z (mod p); f odd.
  Signed62 d{};
  Signed62 e{{1, 0, 0, 0, 0}};
  int64_t delta = 1;
  // 741 divsteps always suffice for 256-bit inputs (the paper's bound);
  // 12 rounds of 62 cover it.
  for (int round = 0; round < 12 && !signed62_is_zero(g); ++round) {
    const uint64_t f_low = static_cast<uint64_t>(f.v[0]) | (static_cast<uint64_t>(f.v[1]) << 62);
    const uint64_t g_low = static_cast<uint64_t>(g.v[0]) | (static_cast<uint64_t>(g.v[1]) << 62);
    const Transition t = divsteps_62(delta, f_low, g_low);
    apply_transition(t, f, g, 0, 0);  // exact: the steps made both even 62 times
    apply_to_de(t, d, e);
  }
  if (!signed62_is_zero(g)) return invert(z);  // unreachable: the bound holds
  // Now f = gcd = +-1 and d z = f.
  Fe inverse = from_bytes(signed62_to_bytes(d).data());
  return f.v[4] < 0 ? neg(inverse) : inverse;
}

// z^((p-5)/8) = z^(2^252 - 3).
Fe pow_p58(const Fe& z) { return mul(sqr_times(pow_2_250_minus_1(z, nullptr), 2), z); }

Fe fe_from_small(uint64_t value) { return Fe{{value, 0, 0, 0, 0}}; }

// ---------------------------------------------------------------- group ----

struct P2 {  // projective
  Fe X, Y, Z;
};
struct P3 {  // extended
  Fe X, Y, Z, T;
};
struct P1P1 {  // completed
  Fe X, Y, Z, T;
};
struct Niels {  // affine: y + x, y - x, 2dxy
  Fe y_plus_x, y_minus_x, xy2d;
};
struct Cached {  // projective Niels: Y + X, Y - X, Z, 2dT
  Fe Y_plus_X, Y_minus_X, Z, T2d;
};

struct CurveConstants {
  Fe d;
  Fe d2;
  Fe sqrt_m1;
  P3 base;
  std::array<std::array<uint8_t, 32>, 7> small_order_y;  // see has_small_order
};

inline P2 to_p2(const P1P1& p) { return P2{mul(p.X, p.T), mul(p.Y, p.Z), mul(p.Z, p.T)}; }

inline P3 to_p3(const P1P1& p) {
  return P3{mul(p.X, p.T), mul(p.Y, p.Z), mul(p.Z, p.T), mul(p.X, p.Y)};
}

inline P2 to_p2(const P3& p) { return P2{p.X, p.Y, p.Z}; }

// 2p (dbl-2008-hwcd with a = -1), as a completed point.
inline P1P1 dbl(const P2& p) {
  Fe xx = sqr(p.X);
  Fe yy = sqr(p.Y);
  Fe zz2 = sqr(p.Z);
  zz2 = add(zz2, zz2);
  Fe sum_sq = sqr(add(p.X, p.Y));
  P1P1 r;  // every coordinate loose
  r.Y = add(yy, xx);
  r.Z = sub(yy, xx);
  r.X = sub_loose(sum_sq, r.Y);
  r.T = sub_loose(zz2, r.Z);
  return r;
}

// p + q, or p - q when `negative`, for an affine table entry q
// (madd-2008-hwcd-3 with k = 2d; -q swaps y + x with y - x and negates 2dxy).
// p's coordinates reduced; the result's loose. The sign selects operands
// without branching: it is as unpredictable as a coin toss.
inline P1P1 add_niels(const P3& p, const Niels& q, bool negative) {
  const Fe& minus_operand = negative ? q.y_plus_x : q.y_minus_x;
  const Fe& plus_operand = negative ? q.y_minus_x : q.y_plus_x;
  Fe a = mul(sub_loose(p.Y, p.X), minus_operand);
  Fe b = mul(add(p.Y, p.X), plus_operand);
  Fe c = mul(p.T, q.xy2d);
  Fe d = add(p.Z, p.Z);
  const Fe sum = add(d, c);
  const Fe difference = sub_loose(d, c);
  const uint64_t swap = uint64_t{0} - static_cast<uint64_t>(negative);
  P1P1 r{sub_loose(b, a), add(b, a), sum, difference};  // Z = d + c, T = d - c for p + q
  for (int i = 0; i < 5; ++i) {
    const uint64_t flip = (sum.v[i] ^ difference.v[i]) & swap;
    r.Z.v[i] ^= flip;
    r.T.v[i] ^= flip;
  }
  return r;
}

Cached to_cached(const P3& p, const Fe& d2) {
  Fe y_plus_x = add(p.Y, p.X);
  carry(y_plus_x);
  return Cached{y_plus_x, sub(p.Y, p.X), p.Z, mul(p.T, d2)};
}

// p + q for a projective table entry (add-2008-hwcd-3 with k = 2d).
P1P1 add_cached(const P3& p, const Cached& q) {
  Fe a = mul(sub(p.Y, p.X), q.Y_minus_X);
  Fe b = mul(add(p.Y, p.X), q.Y_plus_X);
  Fe c = mul(p.T, q.T2d);
  Fe zz = mul(p.Z, q.Z);
  Fe d = add(zz, zz);
  return P1P1{sub(b, a), add(b, a), add(d, c), sub(d, c)};
}

P3 double_p3(const P3& p) { return to_p3(dbl(to_p2(p))); }

// The point encoded by `bytes` (RFC 8032 5.1.3, without libsodium's extra
// refusals, which the callers apply first); nullopt when y gives no x.
std::optional<P3> decompress(const uint8_t bytes[32], const CurveConstants& k) {
  Fe y = from_bytes(bytes);
  Fe yy = sqr(y);
  Fe u = sub(yy, kFeOne);
  Fe v = add(mul(yy, k.d), kFeOne);
  Fe v3 = mul(sqr(v), v);
  Fe v7 = mul(sqr(v3), v);
  Fe x = mul(mul(pow_p58(mul(u, v7)), u), v3);
  Fe vxx = mul(v, sqr(x));
  if (!is_zero(sub(vxx, u))) {
    if (!is_zero(add(vxx, u))) return std::nullopt;
    x = mul(x, k.sqrt_m1);
  }
  if (is_negative(x) != ((bytes[31] >> 7) != 0)) x = neg(x);
  carry(y);
  return P3{x, y, kFeOne, mul(x, y)};
}

std::array<uint8_t, 32> encode(const P2& p) {
  Fe z_inv = invert_vartime(p.Z);
  Fe x = mul(p.X, z_inv);
  Fe y = mul(p.Y, z_inv);
  std::array<uint8_t, 32> out = to_bytes(y);
  out[31] ^= static_cast<uint8_t>(is_negative(x) ? 0x80 : 0);
  return out;
}

// Affine Niels forms of `points`, sharing one inversion (Montgomery's trick).
template <size_t N>
void normalize(const std::array<P3, N>& points, std::array<Niels, N>& out, const Fe& d2) {
  std::array<Fe, N> prefix;
  prefix[0] = points[0].Z;
  for (size_t i = 1; i < N; ++i) prefix[i] = mul(prefix[i - 1], points[i].Z);
  Fe inverse = invert_vartime(prefix[N - 1]);  // public points
  for (size_t i = N; i-- > 0;) {
    Fe z_inv = i == 0 ? inverse : mul(inverse, prefix[i - 1]);
    if (i > 0) inverse = mul(inverse, points[i].Z);
    Fe x = mul(points[i].X, z_inv);
    Fe y = mul(points[i].Y, z_inv);
    Fe y_plus_x = add(y, x);
    carry(y_plus_x);
    out[i] = Niels{y_plus_x, sub(y, x), mul(mul(x, y), d2)};
  }
}

// Odd multiples 1P, 3P, ..., (2*kPerChunk - 1)P of 2^(16c)P for c = 0..15.
// Sixteen chunks rather than eight halve the doublings (16 instead of 32) for
// twice the table entries.
constexpr int kChunks = 16;
constexpr int kChunkBits = 16;

template <int kPerChunk>
void build_tables(const P3& point, std::array<Niels, kChunks * kPerChunk>& out, const Fe& d2) {
  std::array<P3, kChunks * kPerChunk> points;
  P3 chunk_base = point;
  for (int c = 0; c < kChunks; ++c) {
    Cached twice = to_cached(double_p3(chunk_base), d2);
    points[c * kPerChunk] = chunk_base;
    for (int i = 1; i < kPerChunk; ++i) {
      points[c * kPerChunk + i] = to_p3(add_cached(points[c * kPerChunk + i - 1], twice));
    }
    if (c + 1 < kChunks) {
      for (int i = 0; i < kChunkBits; ++i) chunk_base = double_p3(chunk_base);
    }
  }
  normalize(points, out, d2);
}

// Width 4 for the key (4 entries per chunk: 64 entries of 120 bytes, 7.5 KiB
// per key), width 8 for the base point (64 per chunk, 120 KiB once, ~28
// additions instead of ~32 with width 7). Width 5 for the key would save ~8
// of its ~51 additions but double its tables.
constexpr int kKeyWidth = 4;
constexpr int kKeyPerChunk = 1 << (kKeyWidth - 2);
constexpr int kBaseWidth = 8;
constexpr int kBasePerChunk = 1 << (kBaseWidth - 2);

struct BaseTables {
  CurveConstants constants;
  std::array<Niels, kChunks * kBasePerChunk> base;
};

BaseTables make_base_tables() {
  BaseTables t;
  CurveConstants& k = t.constants;
  k.d = neg(mul(fe_from_small(121665), invert(fe_from_small(121666))));
  k.d2 = add(k.d, k.d);
  carry(k.d2);
  // sqrt(-1) = 2^((p-1)/4); (p-1)/4 = 2^253 - 5: every bit of 0..252 but bit 2.
  Fe two = fe_from_small(2);
  Fe power = kFeOne;
  for (int bit = 252; bit >= 0; --bit) {
    power = sqr(power);
    if (bit != 2) power = mul(power, two);
  }
  k.sqrt_m1 = power;
  // B: y = 4/5, x even.
  std::array<uint8_t, 32> base_y = to_bytes(mul(fe_from_small(4), invert(fe_from_small(5))));
  std::optional<P3> base = decompress(base_y.data(), k);
  if (!base) std::abort();  // arithmetic broken: nothing can be verified
  k.base = *base;
  // The encodings libsodium's ge25519_has_small_order refuses, compared with
  // bit 255 cleared: y = 0, 1, p - 1 (orders 4, 1, 2), the y of the order-8
  // points and its negation, and the non-canonical p and p + 1.
  // Order-8 points have y^2 = (-1 +- sqrt(1 + d)) / d; the root that is
  // itself a square gives y.
  Fe root = [&] {
    Fe one_plus_d = add(kFeOne, k.d);
    // sqrt via z^((p+3)/8), fixed by sqrt(-1) when needed.
    Fe r = mul(pow_p58(one_plus_d), one_plus_d);
    if (!is_zero(sub(sqr(r), one_plus_d))) r = mul(r, k.sqrt_m1);
    return r;
  }();
  Fe d_inv = invert(k.d);
  Fe y8 = kFeZero;
  bool found = false;
  for (const Fe& candidate : {mul(sub(root, kFeOne), d_inv), mul(neg(add(root, kFeOne)), d_inv)}) {
    Fe r = mul(pow_p58(candidate), candidate);
    if (!is_zero(sub(sqr(r), candidate))) r = mul(r, k.sqrt_m1);
    if (is_zero(sub(sqr(r), candidate))) {
      y8 = r;
      found = true;
      break;
    }
  }
  if (!found) std::abort();
  std::array<uint8_t, 32> p_bytes{};
  p_bytes.fill(0xff);
  p_bytes[0] = 0xed;
  p_bytes[31] = 0x7f;
  std::array<uint8_t, 32> p_plus_1 = p_bytes;
  p_plus_1[0] = 0xee;
  k.small_order_y = {to_bytes(kFeZero), to_bytes(kFeOne), to_bytes(neg(kFeOne)), to_bytes(y8),
                     to_bytes(neg(y8)), p_bytes, p_plus_1};
  build_tables<kBasePerChunk>(k.base, t.base, k.d2);
  return t;
}

const BaseTables& base_tables() {
  static const BaseTables tables = make_base_tables();
  return tables;
}

bool has_small_order(const uint8_t encoding[32], const CurveConstants& k) {
  std::array<uint8_t, 32> masked;
  std::memcpy(masked.data(), encoding, 32);
  masked[31] &= 0x7f;
  for (const auto& y : k.small_order_y) {
    if (masked == y) return true;
  }
  return false;
}

// y < p for the low 255 bits of the encoding.
bool is_canonical_y(const uint8_t encoding[32]) {
  if ((encoding[31] & 0x7f) != 0x7f) return true;
  for (int i = 30; i > 0; --i) {
    if (encoding[i] != 0xff) return true;
  }
  return encoding[0] < 0xed;
}

// L = 2^252 + 27742317777372353535851937790883648493, little-endian (RFC 8032).
constexpr std::array<uint8_t, 32> kOrder = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

bool scalar_is_canonical(const uint8_t s[32]) {
  for (int i = 31; i >= 0; --i) {
    if (s[i] != kOrder[i]) return s[i] < kOrder[i];
  }
  return false;  // s == L
}

// Width-w non-adjacent form of a scalar below 2^253: digits odd and in
// (-2^(w-1), 2^(w-1)), every nonzero digit followed by w - 1 zeros; positions
// 0..255 (a scalar this small never needs more). chunks_at[j] has bit c set
// when the digit at position c * kChunkBits + j is nonzero.
struct Wnaf {
  std::array<int8_t, 256> digits;
  std::array<uint16_t, kChunkBits> chunks_at;
};
static_assert(kChunks <= 16 && kChunks * kChunkBits == 256);

void wnaf(const uint8_t scalar[32], int width, Wnaf& out) {
  // A zero limb on top: a 64-bit window may start anywhere below bit 256.
  const uint64_t limbs[5] = {load64_le(scalar), load64_le(scalar + 8), load64_le(scalar + 16),
                             load64_le(scalar + 24), 0};
  out.digits.fill(0);
  out.chunks_at.fill(0);
  const uint64_t window_mask = (uint64_t{1} << width) - 1;
  uint64_t carry_bit = 0;
  int position = 0;
  while (position < 256) {
    const int limb = position / 64;
    const int offset = position % 64;
    uint64_t bits = limbs[limb] >> offset;
    if (offset != 0) bits |= limbs[limb + 1] << (64 - offset);
    // Bits equal to the pending carry give zero digits (the carry moves up
    // with the position): skip the whole run at once.
    const uint64_t differs = bits ^ (uint64_t{0} - carry_bit);
    if ((differs & 1) == 0) {
      position += differs == 0 ? 64 : __builtin_ctzll(differs);
      continue;
    }
    // window is odd and below 2^width; from 2^(width-1) up it becomes
    // window - 2^width with a carry into the next position.
    const uint64_t window = carry_bit + (bits & window_mask);
    carry_bit = window >> (width - 1);
    out.digits[position] =
        static_cast<int8_t>(static_cast<int64_t>(window) - static_cast<int64_t>(carry_bit << width));
    out.chunks_at[position % kChunkBits] |= static_cast<uint16_t>(1u << (position / kChunkBits));
    position += width;
  }
}

}  // namespace

struct Ed25519PreparedKey::Tables {
  std::array<Niels, kChunks * kKeyPerChunk> minus_a;  // odd multiples of -2^(16c)A
};

Ed25519PreparedKey::Ed25519PreparedKey(const Ed25519PublicKey& public_key,
                                       std::unique_ptr<Tables> tables)
    : public_key_(public_key), tables_(std::move(tables)) {}
Ed25519PreparedKey::Ed25519PreparedKey(Ed25519PreparedKey&&) noexcept = default;
Ed25519PreparedKey& Ed25519PreparedKey::operator=(Ed25519PreparedKey&&) noexcept = default;
Ed25519PreparedKey::~Ed25519PreparedKey() = default;

Result<Ed25519PreparedKey> Ed25519PreparedKey::prepare(const Ed25519PublicKey& public_key) {
  const BaseTables& base = base_tables();
  const uint8_t* encoding = public_key.bytes.data();
  if (!is_canonical_y(encoding)) {
    return invalid_argument("Ed25519 public key is not canonically encoded");
  }
  if (has_small_order(encoding, base.constants)) {
    return invalid_argument("Ed25519 public key has small order");
  }
  std::optional<P3> a = decompress(encoding, base.constants);
  if (!a) return invalid_argument("Ed25519 public key is not a curve point");
  P3 minus_a{neg(a->X), a->Y, a->Z, neg(a->T)};
  auto tables = std::make_unique<Tables>();
  build_tables<kKeyPerChunk>(minus_a, tables->minus_a, base.constants.d2);
  return Ed25519PreparedKey(public_key, std::move(tables));
}

bool Ed25519PreparedKey::verify(ByteView message, const Ed25519Signature& signature) const {
  const BaseTables& base = base_tables();
  const uint8_t* r_bytes = signature.bytes.data();
  const uint8_t* s_bytes = signature.bytes.data() + 32;
  if (!scalar_is_canonical(s_bytes) || has_small_order(r_bytes, base.constants)) return false;
  // With many devices the key's tables are rarely in cache: start loading
  // them now, so the fetch overlaps the hashing below.
  const char* table = reinterpret_cast<const char*>(tables_->minus_a.data());
  for (size_t offset = 0; offset < sizeof(tables_->minus_a); offset += 64) {
    __builtin_prefetch(table + offset);
  }

  // h = SHA-512(R || A || M) mod L.
  static const EVP_MD* const sha512 = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA512", nullptr);
    if (fetched == nullptr) std::abort();  // no SHA-512 provider: nothing can work
    return fetched;
  }();
  struct ContextHolder {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~ContextHolder() { EVP_MD_CTX_free(ctx); }
  };
  thread_local ContextHolder holder;
  uint8_t digest[64];
  unsigned int digest_size = 0;
  if (holder.ctx == nullptr || EVP_DigestInit_ex2(holder.ctx, sha512, nullptr) != 1 ||
      EVP_DigestUpdate(holder.ctx, r_bytes, 32) != 1 ||
      EVP_DigestUpdate(holder.ctx, public_key_.bytes.data(), 32) != 1 ||
      (!message.empty() && EVP_DigestUpdate(holder.ctx, message.data(), message.size()) != 1) ||
      EVP_DigestFinal_ex(holder.ctx, digest, &digest_size) != 1) {
    return false;
  }
  uint8_t h[32];
  crypto_core_ed25519_scalar_reduce(h, digest);

  Wnaf h_wnaf;
  Wnaf s_wnaf;
  wnaf(h, kKeyWidth, h_wnaf);
  wnaf(s_bytes, kBaseWidth, s_wnaf);

  int top = kChunkBits - 1;
  while (top >= 0 && (h_wnaf.chunks_at[top] | s_wnaf.chunks_at[top]) == 0) --top;

  P2 acc{kFeZero, kFeOne, kFeOne};
  const auto& key_table = tables_->minus_a;
  const auto& base_table = base.base;
  for (int j = top; j >= 0; --j) {
    // The first step starts from the neutral element (0 : 1 : 1 : 1), which
    // doubling would leave unchanged.
    P1P1 t = j == top ? P1P1{kFeZero, kFeOne, kFeOne, kFeOne} : dbl(acc);
    for (unsigned chunks = h_wnaf.chunks_at[j]; chunks != 0; chunks &= chunks - 1) {
      const int c = __builtin_ctz(chunks);
      const int digit = h_wnaf.digits[c * kChunkBits + j];
      t = add_niels(to_p3(t), key_table[c * kKeyPerChunk + std::abs(digit) / 2], digit < 0);
    }
    for (unsigned chunks = s_wnaf.chunks_at[j]; chunks != 0; chunks &= chunks - 1) {
      const int c = __builtin_ctz(chunks);
      const int digit = s_wnaf.digits[c * kChunkBits + j];
      t = add_niels(to_p3(t), base_table[c * kBasePerChunk + std::abs(digit) / 2], digit < 0);
    }
    acc = to_p2(t);
  }
  std::array<uint8_t, 32> r_check = encode(acc);
  return std::memcmp(r_check.data(), r_bytes, 32) == 0;
}

// ---------------------------------------------------------------- cache ----

size_t Ed25519KeyCache::KeyHash::operator()(const Ed25519PublicKey& key) const {
  // Public keys are uniformly distributed: their first bytes are a fine hash.
  return static_cast<size_t>(load64_le(key.bytes.data()));
}

Ed25519KeyCache::Ed25519KeyCache(size_t capacity)
    : capacity_(capacity), shards_(std::make_unique<Shard[]>(kShards)) {}

Ed25519KeyCache::~Ed25519KeyCache() = default;

std::shared_ptr<const Ed25519PreparedKey> Ed25519KeyCache::find_or_prepare(
    const Ed25519PublicKey& public_key) {
  Shard& shard = shards_[public_key.bytes[8] % kShards];
  {
    std::lock_guard lock(shard.mutex);
    auto found = shard.keys.find(public_key);
    if (found != shard.keys.end()) return found->second;
  }
  auto prepared = Ed25519PreparedKey::prepare(public_key);
  if (!prepared.is_ok()) return nullptr;
  auto shared = std::make_shared<const Ed25519PreparedKey>(std::move(prepared).value());
  if (capacity_ == 0) return shared;
  std::lock_guard lock(shard.mutex);
  const size_t shard_capacity = capacity_ / kShards + 1;
  if (shard.keys.size() >= shard_capacity && !shard.keys.contains(public_key)) {
    shard.keys.erase(shard.keys.begin());
  }
  shard.keys.emplace(public_key, shared);
  return shared;
}

bool Ed25519KeyCache::verify(const Ed25519PublicKey& public_key, ByteView message,
                             const Ed25519Signature& signature) {
  std::shared_ptr<const Ed25519PreparedKey> prepared = find_or_prepare(public_key);
  return prepared != nullptr && prepared->verify(message, signature);
}

void Ed25519KeyCache::warm(const Ed25519PublicKey& public_key) { find_or_prepare(public_key); }

size_t Ed25519KeyCache::size() const {
  size_t total = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    total += shards_[i].keys.size();
  }
  return total;
}

}  // namespace custos
