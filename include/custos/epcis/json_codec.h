// custos epcis: the EPCIS 2.0 JSON / JSON-LD codec for the model of
// custos/epcis/event.h.
//
// Decoding promises:
//  - The whole input is checked: JSON syntax (RFC 8259), UTF-8, string
//    escapes (no lone surrogates), nesting depth (at most kMaxJsonDepth
//    levels inside any extension value; standard members have a fixed
//    shape), JSON types of every standard field, time syntax, known event
//    and document types, required members (event type, eventTime,
//    eventTimeZoneOffset, action on every type but TransformationEvent,
//    readPoint/bizLocation id, epcClass, bizTransaction, source/destination
//    type and value, declarationTime), nothing after the top-level value.
//  - Objects the standard closes (bizTransaction, source, destination,
//    persistentDisposition) refuse other members; every other object keeps
//    them as extensions (see event.h).
//  - A standard member named twice in one object is refused ("repeated
//    member"): JSON leaves its meaning open and two readers could disagree.
//    Repeated extension keys are kept, in order, and written back as given.
//  - An error is InvalidArgument whose message starts with the RFC 6901 JSON
//    pointer of the offending value, then ": " and what is wrong, e.g.
//    "/epcisBody/eventList/3/epcList/0: expected a string". Faults that
//    belong to no value (invalid UTF-8, unbalanced brackets, truncated text)
//    are reported at the root, whose pointer is empty: the message is then
//    just the description. The pointer and description are also available
//    separately through DecodeError.
//  - Hostile input never crashes or recurses without bound: the decoder
//    walks standard members by their fixed shape and extension values with a
//    depth limit. Integers of any size are accepted in extensions (their
//    text is kept).
//  - Extensions keep their raw JSON text (see event.h); everything else is
//    unescaped into the model.
//
// Encoding writes compact JSON-LD: standard members in a fixed order, then
// extensions in model order, numbers and extension values as their stored
// text. decode(encode(x)) == x for any x that decode produced, and encode
// (decode(text)) equals text as a JSON value (object member order aside).
//
// JsonCodec keeps its parser and input buffers between calls, so once warm a
// call allocates only the model it returns (the input is copied once into a
// padded buffer, as simdjson requires; its size is the caller's to limit).
// Use one per thread; it is not thread-safe. The free functions build a
// codec per call.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "custos/core/status.h"
#include "custos/epcis/event.h"

namespace custos::epcis {

// Deepest nesting of arrays and objects accepted inside one value kept as raw
// JSON (an extension value, @context, epcisHeader). The standard structure
// around such values adds at most 10 levels.
inline constexpr size_t kMaxJsonDepth = 64;

// Where and why a decode failed.
struct DecodeError {
  std::string pointer;  // RFC 6901; empty for the root
  std::string detail;
};

class JsonCodec {
 public:
  JsonCodec();
  ~JsonCodec();
  JsonCodec(JsonCodec&&) noexcept;
  JsonCodec& operator=(JsonCodec&&) noexcept;

  // An EPCISDocument or EPCISQueryDocument. When `error` is given it receives
  // the pointer and detail of a failure.
  Result<Document> decode_document(std::string_view json, DecodeError* error = nullptr);
  // One event as a JSON object, outside any document; namespace prefixes
  // come from the event's own @context and the standard EPCIS context.
  Result<Event> decode_event(std::string_view json, DecodeError* error = nullptr);

 private:
  struct Parsers;
  std::unique_ptr<Parsers> parsers_;
};

Result<Document> decode_document(std::string_view json, DecodeError* error = nullptr);
Result<Event> decode_event(std::string_view json, DecodeError* error = nullptr);

// JSON-LD text of a document / an event.
std::string encode_document(const Document& document);
std::string encode_event(const Event& event);

// Appends the event as a JSON object to `out` (for writers that stream many
// events into one buffer).
void append_event_json(std::string& out, const Event& event);

}  // namespace custos::epcis
