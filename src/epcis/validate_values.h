// Private to custos_epcis: checks of single EPCIS values (date-times, time
// zone offsets, URIs, CBV vocabularies) used by validate.cc. Each returns an
// empty string when the value is acceptable, otherwise the reason.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace custos::epcis::validation {

// RFC 3339 date-time with a time zone ("2024-05-01T10:00:00.5+02:00", "...Z").
std::string date_time_problem(std::string_view text);

// eventTimeZoneOffset: "+hh:mm" or "-hh:mm" within -14:00..+14:00.
std::string time_zone_offset_problem(std::string_view text);

// An absolute URI (RFC 3986: scheme ":" hier-part, only URI characters, valid
// percent escapes); this is JSON Schema's "uri" format.
std::string absolute_uri_problem(std::string_view text);

// A controlled vocabulary of the CBV: its short names, what the field is called
// in messages, and which full URIs the schema refuses in JSON (where the
// short name must be used instead).
enum class ReservedUris {
  kCbv,        // urn:epcglobal:cbv..., http(s)://ns.gs1.org/cbv/...
  kGs1WebVoc,  // http(s)://(www.)gs1.org/voc/...
};
struct Vocabulary {
  std::string_view what;  // "business step"
  std::span<const std::string_view> short_names;
  ReservedUris reserved;
};

const Vocabulary& biz_step_vocabulary();
const Vocabulary& disposition_vocabulary();
const Vocabulary& biz_transaction_type_vocabulary();
const Vocabulary& source_dest_type_vocabulary();
const Vocabulary& error_reason_vocabulary();
const Vocabulary& component_vocabulary();
const Vocabulary& measurement_type_vocabulary();
const Vocabulary& sensor_alert_type_vocabulary();

// A short name of `vocabulary`, or an absolute URI outside its reserved space.
std::string vocabulary_problem(const Vocabulary& vocabulary, std::string_view text);

}  // namespace custos::epcis::validation
