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
// form, split into eight 32-bit chunks: chunk c of a scalar multiplies
// 2^(32c) times the point, so one chain of 32 doublings serves all chunks.
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

constexpr uint64_t kMask51 = (uint64_t{1} << 51) - 1;

// ---------------------------------------------------------------- field ----

// Limbs of an element "in range" are below 2^52 (what mul and sqr return,
// and sub); the sum of two in-range elements stays a valid mul/sqr input
// (below 2^54), so add does not carry.
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

// f - g computed as f + 4p - g: g's limbs must be below 2^53 - 76.
inline Fe sub(const Fe& f, const Fe& g) {
  constexpr uint64_t k4p0 = (uint64_t{1} << 53) - 76;
  constexpr uint64_t k4pi = (uint64_t{1} << 53) - 4;
  Fe h{{f.v[0] + k4p0 - g.v[0], f.v[1] + k4pi - g.v[1], f.v[2] + k4pi - g.v[2],
        f.v[3] + k4pi - g.v[3], f.v[4] + k4pi - g.v[4]}};
  carry(h);
  return h;
}

inline Fe neg(const Fe& f) { return sub(kFeZero, f); }

// Folds the five 128-bit column sums into limbs below 2^51 (+ a little in limb 0).
inline Fe reduce_columns(u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  Fe h;
  r1 += static_cast<uint64_t>(r0 >> 51);
  h.v[0] = static_cast<uint64_t>(r0) & kMask51;
  r2 += static_cast<uint64_t>(r1 >> 51);
  h.v[1] = static_cast<uint64_t>(r1) & kMask51;
  r3 += static_cast<uint64_t>(r2 >> 51);
  h.v[2] = static_cast<uint64_t>(r2) & kMask51;
  r4 += static_cast<uint64_t>(r3 >> 51);
  h.v[3] = static_cast<uint64_t>(r3) & kMask51;
  h.v[4] = static_cast<uint64_t>(r4) & kMask51;
  // r4 >> 51 can exceed 2^60, so the wrap-around times 19 is done in 128 bits.
  u128 wrapped = static_cast<u128>(static_cast<uint64_t>(r4 >> 51)) * 19 + h.v[0];
  h.v[0] = static_cast<uint64_t>(wrapped) & kMask51;
  h.v[1] += static_cast<uint64_t>(wrapped >> 51);
  return h;
}

inline Fe mul(const Fe& f, const Fe& g) {
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

inline Fe sqr(const Fe& f) {
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
  P1P1 r;
  r.Y = add(yy, xx);
  r.Z = sub(yy, xx);
  r.X = sub(sum_sq, r.Y);
  r.T = sub(zz2, r.Z);
  return r;
}

// p + q, or p - q when `subtract`, for an affine table entry q
// (madd-2008-hwcd-3 with k = 2d; -q swaps y + x with y - x and negates 2dxy).
template <bool subtract>
inline P1P1 add_niels(const P3& p, const Niels& q) {
  Fe a = mul(sub(p.Y, p.X), subtract ? q.y_plus_x : q.y_minus_x);
  Fe b = mul(add(p.Y, p.X), subtract ? q.y_minus_x : q.y_plus_x);
  Fe c = mul(p.T, q.xy2d);
  Fe d = add(p.Z, p.Z);
  if constexpr (subtract) return P1P1{sub(b, a), add(b, a), sub(d, c), add(d, c)};
  return P1P1{sub(b, a), add(b, a), add(d, c), sub(d, c)};
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
  Fe z_inv = invert(p.Z);
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
  Fe inverse = invert(prefix[N - 1]);
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

// Odd multiples 1P, 3P, ..., (2*kPerChunk - 1)P of 2^(32c)P for c = 0..7.
constexpr int kChunks = 8;
constexpr int kChunkBits = 32;

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

// Width 4 for the key (4 entries per chunk), width 7 for the base point.
constexpr int kKeyWidth = 4;
constexpr int kKeyPerChunk = 1 << (kKeyWidth - 2);
constexpr int kBaseWidth = 7;
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
// 0..255 (a scalar this small never needs more).
void wnaf(const uint8_t scalar[32], int width, std::array<int8_t, 256>& digits) {
  uint64_t limbs[5] = {load64_le(scalar), load64_le(scalar + 8), load64_le(scalar + 16),
                       load64_le(scalar + 24), 0};
  digits.fill(0);
  const uint64_t window_mask = (uint64_t{1} << width) - 1;
  const uint64_t half = uint64_t{1} << (width - 1);
  uint64_t carry_bit = 0;
  int position = 0;
  while (position < 256) {
    const int limb = position / 64;
    const int offset = position % 64;
    uint64_t bits = limbs[limb] >> offset;
    if (offset + width > 64) bits |= limbs[limb + 1] << (64 - offset);
    const uint64_t window = carry_bit + (bits & window_mask);
    if ((window & 1) == 0) {
      ++position;  // a zero digit; the carry moves up with the position
      continue;
    }
    if (window < half) {
      carry_bit = 0;
      digits[position] = static_cast<int8_t>(window);
    } else {
      carry_bit = 1;
      digits[position] = static_cast<int8_t>(static_cast<int64_t>(window) - (int64_t{1} << width));
    }
    position += width;
  }
}

}  // namespace

struct Ed25519PreparedKey::Tables {
  std::array<Niels, kChunks * kKeyPerChunk> minus_a;  // odd multiples of -2^(32c)A
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

  std::array<int8_t, 256> h_digits;
  std::array<int8_t, 256> s_digits;
  wnaf(h, kKeyWidth, h_digits);
  wnaf(s_bytes, kBaseWidth, s_digits);

  int top = kChunkBits - 1;
  auto any_digit_at = [&](int j) {
    for (int c = 0; c < kChunks; ++c) {
      if (h_digits[c * kChunkBits + j] != 0 || s_digits[c * kChunkBits + j] != 0) return true;
    }
    return false;
  };
  while (top >= 0 && !any_digit_at(top)) --top;

  P2 acc{kFeZero, kFeOne, kFeOne};
  const auto& key_table = tables_->minus_a;
  const auto& base_table = base.base;
  for (int j = top; j >= 0; --j) {
    P1P1 t = dbl(acc);
    for (int c = 0; c < kChunks; ++c) {
      const int digit = h_digits[c * kChunkBits + j];
      if (digit != 0) {
        const Niels& entry = key_table[c * kKeyPerChunk + std::abs(digit) / 2];
        t = digit > 0 ? add_niels<false>(to_p3(t), entry) : add_niels<true>(to_p3(t), entry);
      }
    }
    for (int c = 0; c < kChunks; ++c) {
      const int digit = s_digits[c * kChunkBits + j];
      if (digit != 0) {
        const Niels& entry = base_table[c * kBasePerChunk + std::abs(digit) / 2];
        t = digit > 0 ? add_niels<false>(to_p3(t), entry) : add_niels<true>(to_p3(t), entry);
      }
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
