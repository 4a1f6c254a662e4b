// custos epcis: identifiers of physical objects, classes, locations and
// parties (GS1 EPC Tag Data Standard 2.x, GS1 Digital Link 1.x).
//
// EPCIS 2.0 lets a document name the same object either as an EPC
// pure-identity URN (urn:epc:id:sgtin:0614141.107346.2017) or as a GS1
// Digital Link URI (https://example.com/01/10614141073464/21/2017). custos
// indexes and compares identifiers by one canonical form that needs no GS1
// company-prefix length (a Digital Link does not carry it): the Digital Link
// path on id.gs1.org, for example
//   sgtin  https://id.gs1.org/01/<GTIN-14>/21/<serial>
//   lgtin  https://id.gs1.org/01/<GTIN-14>/10/<lot>
//   gtin   https://id.gs1.org/01/<GTIN-14>           (urn:epc:idpat:sgtin:CP.IR.*)
//   sscc   https://id.gs1.org/00/<SSCC-18>
//   sgln   https://id.gs1.org/414/<GLN-13>[/254/<extension>] (no 254 for extension "0")
//   pgln   https://id.gs1.org/417/<GLN-13>
//   grai   https://id.gs1.org/8003/0<GRAI-13><serial>
//   giai   https://id.gs1.org/8004/<GIAI>
//   gsrn   https://id.gs1.org/8018/<GSRN-18>
//   gsrnp  https://id.gs1.org/8017/<GSRN-18>          (service provider)
//   gdti   https://id.gs1.org/253/<GDTI-13><serial>
//   cpi    https://id.gs1.org/8010/<CPID>/8011/<serial>
//   ginc   https://id.gs1.org/401/<GINC>
//   gsin   https://id.gs1.org/402/<GSIN-17>
//   itip   https://id.gs1.org/8006/<GTIN-14><piece><total>/21/<serial>
//   upui   https://id.gs1.org/01/<GTIN-14>/235/<TPX>
// GTIN-8/12/13 are padded to 14 digits; serials, lots and other alphanumeric
// values are percent-encoded with every character outside A-Z a-z 0-9 - . _
// written as %XX (uppercase hex), so two spellings of one value give one
// canonical string. A Digital Link's domain, path prefix, query string and
// fragment are not part of the identity and are dropped; a lot (10) next to a
// serial (21) is dropped too, since GTIN + serial alone names the instance.
//
// Check digits (GS1 mod 10) are verified on every Digital Link and computed
// when converting a URN. Values are checked against the TDS rules: digit
// counts, company prefix of 6..12 digits, character set 82 (set 39 for a CPID)
// and length limits.
//
// Any other absolute URI (another URN, an EPC scheme not listed above, an
// http(s) URL that is not shaped like a Digital Link, a Digital Link whose key
// qualifiers are not modelled such as AI 22 or 8019, or a class-level CPI or
// ITIP without its serial) is accepted as kOpaque and
// kept verbatim, as EPCIS allows any URI. Text that is not a URI at all
// (empty, whitespace or control characters, no scheme) is refused.
//
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "custos/core/status.h"

namespace custos::epcis {

enum class IdentifierKind {
  kSgtin,   // serialised trade item: GTIN + serial
  kSscc,    // logistic unit
  kSgln,    // physical location: GLN + extension
  kPgln,    // party GLN (urn:epc:id:pgln, AI 417)
  kGrai,    // returnable asset: GRAI + serial
  kGiai,    // individual asset
  kGsrn,    // service relation
  kGdti,    // document: GDTI + serial
  kGsrnp,   // service relation, provider side (AI 8017)
  kCpi,     // component / part: CPID + serial (AI 8010 + 8011)
  kGinc,    // consignment (AI 401)
  kGsin,    // shipment (AI 402)
  kItip,    // piece of a trade item: GTIN + piece + total + serial (AI 8006 + 21)
  kUpui,    // unit pack: GTIN + third-party controlled serial (AI 01 + 235)
  kLgtin,   // class level: GTIN + lot (urn:epc:class:lgtin)
  kGtin,    // class level: GTIN alone (urn:epc:idpat:sgtin:CP.IR.*, DL /01/<GTIN>)
  kOpaque,  // any other absolute URI, kept verbatim
};

std::string_view identifier_kind_name(IdentifierKind kind);

struct Identifier {
  IdentifierKind kind = IdentifierKind::kOpaque;
  // The form to index and compare by (see above); for kOpaque, `original`.
  std::string canonical;
  // The text as given.
  std::string original;
};

// Parses an EPC URN, a GS1 Digital Link or another absolute URI. Returns
// InvalidArgument, with a message naming the fault, for a malformed EPC URN or
// Digital Link (wrong digit count, bad check digit, character outside set 82,
// value too long) and for text that is not a URI.
Result<Identifier> parse_identifier(std::string_view uri);

// True when both name the same thing (equal canonical forms).
bool same_identifier(const Identifier& a, const Identifier& b);

// The GS1 mod-10 check digit ('0'..'9') of `digits` (the data digits, without
// a check digit). Precondition: `digits` holds only '0'..'9'.
char gs1_check_digit(std::string_view digits);

// How a Digital Link's values (serials, lots, references) are percent-encoded.
enum class DigitalLinkEscaping {
  // Every character outside A-Z a-z 0-9 - . _ as %XX: the canonical form above.
  kCanonical,
  // As kCanonical, but "'" stays bare: the spelling of the CBV 2.0 event hash
  // ID reference vectors (event_hash.h), which a hash must reproduce exactly.
  kEventHash,
};

// The Digital Link on id.gs1.org that an EPC URN names (urn:epc:id:<scheme>,
// urn:epc:class:lgtin, urn:epc:idpat:sgtin:CP.IR.*), its values escaped as
// `escaping` says; with kCanonical it is parse_identifier(urn)->canonical.
// InvalidArgument, naming the fault, for a malformed EPC URN and for any URI
// that is not an EPC URN of a kind listed above.
Result<std::string> epc_urn_to_digital_link(
    std::string_view urn, DigitalLinkEscaping escaping = DigitalLinkEscaping::kCanonical);

// The EPC URN of a parsed identifier, splitting the GS1 key at
// `company_prefix_length` digits (6..12), for every kind except kOpaque (and a
// GRAI or GDTI without a serial, which has no EPC; for kCpi, kGinc and kGiai
// the key must start with that many digits). kGtin gives the
// urn:epc:idpat:sgtin:CP.IR.* pattern. Serials are escaped as TDS requires.
Result<std::string> to_epc_urn(const Identifier& id, int company_prefix_length);

}  // namespace custos::epcis
