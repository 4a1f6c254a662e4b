// The log payload of a captured event: the envelope round-trips its hash,
// the capturer's vendor (escaped, or absent) and the event JSON, and a
// summary rebuilt from the logged entry (what replay does) carries the vendor.
#include "custos/custody/capture_record.h"

#include <gtest/gtest.h>

#include "custos/epcis/json_codec.h"
#include "custos/ledger/entry.h"

namespace custos::custody {
namespace {

constexpr std::string_view kEvent =
    R"({"type":"ObjectEvent","eventID":"urn:uuid:cr-1","eventTime":"2026-05-28T09:00:00.000Z",)"
    R"("eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.1"],)"
    R"("action":"OBSERVE","bizStep":"shipping"})";
constexpr std::string_view kHash = "ni:///sha-256;00ff?ver=CBV2.0";

TEST(CaptureRecordTest, PayloadCarriesTheCapturerVendor) {
  auto event = epcis::decode_event(kEvent);
  ASSERT_TRUE(event.is_ok()) << event.status().to_string();
  for (std::string vendor : {"", "acme-trucking", "tricky \",\"event\": \\ vendor \xc3\xa9"}) {
    Bytes payload = encode_event_payload(*event, kHash, vendor);
    auto logged = decode_event_payload(payload);
    ASSERT_TRUE(logged.is_ok()) << vendor << ": " << logged.status().to_string();
    EXPECT_EQ(logged->event_hash, kHash);
    EXPECT_EQ(logged->capturer_vendor, vendor);
    auto again = epcis::decode_event(logged->event_json);
    ASSERT_TRUE(again.is_ok());
    EXPECT_EQ(*again, *event);

    ledger::LogEntry entry;
    entry.kind = ledger::EntryKind::kEpcisEvent;
    entry.index = 7;
    entry.receive_time = 1000;
    entry.principal = "scanner-1";
    entry.payload = payload;
    auto summary = summarise_entry(entry);
    ASSERT_TRUE(summary.is_ok()) << summary.status().to_string();
    EXPECT_EQ(summary->principal, "scanner-1");
    EXPECT_EQ(summary->principal_vendor, vendor);
    EXPECT_EQ(summary->log_index, 7u);
  }
  const std::string damaged = std::string(R"({"custos":"epcis-event/1","eventHash":")") +
                              std::string(kHash) + R"(","capturerVendor":"\q","event":{}})";
  EXPECT_EQ(decode_event_payload(as_bytes(damaged)).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace custos::custody
