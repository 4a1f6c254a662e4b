// Private to custos_epcis: the members the EPCIS 2.0 JSON / JSON-LD
// binding defines for an event, in one list for the decoder (which
// dispatches on them by EventMember) and the event hash (for which every
// other member of an event, bar the JSON-LD keywords, is an extension).
#pragma once

#include <array>
#include <string_view>

namespace custos::epcis::event_members {

enum EventMember {
  kType,
  kEventTime,
  kEventTimeZoneOffset,
  kRecordTime,
  kEventId,
  kCertificationInfo,
  kErrorDeclaration,
  kEpcList,
  kQuantityList,
  kParentId,
  kChildEpcs,
  kChildQuantityList,
  kInputEpcList,
  kInputQuantityList,
  kOutputEpcList,
  kOutputQuantityList,
  kTransformationId,
  kAction,
  kBizStep,
  kDisposition,
  kPersistentDisposition,
  kReadPoint,
  kBizLocation,
  kBizTransactionList,
  kSourceList,
  kDestinationList,
  kSensorElementList,
  kIlmd,
  kContext,
  kEventMemberCount
};

inline constexpr std::array<std::string_view, kEventMemberCount> kEventMembers = {
    "type",
    "eventTime",
    "eventTimeZoneOffset",
    "recordTime",
    "eventID",
    "certificationInfo",
    "errorDeclaration",
    "epcList",
    "quantityList",
    "parentID",
    "childEPCs",
    "childQuantityList",
    "inputEPCList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "transformationID",
    "action",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
    "ilmd",
    "@context",
};

inline bool is_event_member(std::string_view name) {
  for (std::string_view member : kEventMembers) {
    if (member == name) return true;
  }
  return false;
}

}  // namespace custos::epcis::event_members
