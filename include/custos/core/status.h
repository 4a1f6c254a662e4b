// custos core: Status and Result<T>.
//
// Every fallible call in custos returns a Status (success or an error code
// with a human-readable message) or a Result<T> (a value or a Status). No
// exception crosses a module boundary: code that calls a throwing library
// catches at the edge and converts to a Status. Status and Result are plain
// values; they are not thread-safe to mutate concurrently, like any value.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace custos {

// Error categories. They map onto HTTP statuses and CLI exit codes at the
// edges, so pick the one that says what a caller should do about it.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the input is malformed; fixing the input fixes it
  kNotFound,           // the thing asked for does not exist
  kAlreadyExists,      // a conflicting thing exists
  kOutOfRange,         // an index or size beyond what exists
  kFailedPrecondition, // the system is not in a state to do this
  kUnauthenticated,    // who is asking could not be established
  kPermissionDenied,   // who is asking may not do this
  kResourceExhausted,  // too large, too many, quota
  kUnavailable,        // try again later (not ready, shutting down)
  kDataLoss,           // stored data is corrupt or inconsistent
  kIoError,            // the operating system or storage failed
  kInternal,           // a bug: an invariant did not hold
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "InvalidArgument: message", or "OK".
  std::string to_string() const;

  // Returns a copy whose message is "context: message".
  Status with_context(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}
inline Status not_found(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message));
}
inline Status out_of_range(std::string message) {
  return Status(StatusCode::kOutOfRange, std::move(message));
}
inline Status failed_precondition(std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(message));
}
inline Status data_loss(std::string message) {
  return Status(StatusCode::kDataLoss, std::move(message));
}
inline Status io_error(std::string message) {
  return Status(StatusCode::kIoError, std::move(message));
}
inline Status internal_error(std::string message) {
  return Status(StatusCode::kInternal, std::move(message));
}
inline Status unavailable(std::string message) {
  return Status(StatusCode::kUnavailable, std::move(message));
}
inline Status resource_exhausted(std::string message) {
  return Status(StatusCode::kResourceExhausted, std::move(message));
}

// A value of type T, or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : state_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    assert(!std::get<1>(state_).is_ok() && "a Result error must not be OK");
  }

  bool is_ok() const { return state_.index() == 0; }
  explicit operator bool() const { return is_ok(); }

  // Precondition: is_ok().
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // OK when a value is held.
  Status status() const { return is_ok() ? Status() : std::get<1>(state_); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace custos

// Propagates a non-OK Status from an expression returning Status.
#define CUSTOS_RETURN_IF_ERROR(expr)            \
  do {                                          \
    ::custos::Status custos_status_ = (expr);   \
    if (!custos_status_.is_ok()) return custos_status_; \
  } while (0)

#define CUSTOS_CONCAT_INNER(a, b) a##b
#define CUSTOS_CONCAT(a, b) CUSTOS_CONCAT_INNER(a, b)

// `CUSTOS_ASSIGN_OR_RETURN(auto x, f());` binds the value or returns the error.
#define CUSTOS_ASSIGN_OR_RETURN(lhs, expr) \
  CUSTOS_ASSIGN_OR_RETURN_IMPL(CUSTOS_CONCAT(custos_result_, __LINE__), lhs, expr)
#define CUSTOS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.is_ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
