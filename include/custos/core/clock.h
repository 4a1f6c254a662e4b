// custos core: time.
//
// Components that read the time take a Clock&, so tests can control time
// with ManualClock. Times are Unix time in microseconds (UTC). Both clocks
// are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace custos {

using UnixMicros = int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixMicros now_micros() const = 0;
};

// The system's real-time clock.
class SystemClock final : public Clock {
 public:
  UnixMicros now_micros() const override;
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixMicros start) : now_(start) {}
  UnixMicros now_micros() const override { return now_.load(); }
  void set(UnixMicros now) { now_.store(now); }
  void advance(UnixMicros delta) { now_.fetch_add(delta); }

 private:
  std::atomic<UnixMicros> now_;
};

// RFC 3339 UTC with microseconds, e.g. "2026-11-25T01:02:03.000004Z".
std::string format_rfc3339_micros(UnixMicros micros);

}  // namespace custos
