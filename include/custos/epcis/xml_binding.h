// custos epcis: the EPCIS XML binding on capture, converted to the JSON-LD binding.
//
// custos keeps one model of EPCIS events: the EPCIS 2.0 JSON/JSON-LD binding.
// An XML document (EPCIS 2.0, namespace urn:epcglobal:epcis:xsd:2, or EPCIS
// 1.2, urn:epcglobal:epcis:xsd:1, and their query documents) is converted to
// that JSON text once, at the edge; the event hash, validation and the model
// decoder only ever see JSON. The conversion promises:
//
// - Every standard event field of the five event types is mapped to its JSON
//   name and shape: lists become arrays (<bizTransaction type="t">v</...> is
//   {"type": "t", "bizTransaction": "v"}), sensorMetadata/sensorReport
//   attributes become members (numbers and booleans typed as in the XSD),
//   quantity is a JSON number, CBV URNs (urn:epcglobal:cbv:bizstep:shipping)
//   become the bare names the JSON binding uses ("shipping"). EPCIS 1.x
//   wrappers (<extension>, <baseExtension>, events inside EventList/extension)
//   are flattened; a 1.x QuantityEvent is refused. An unqualified element
//   the binding does not know, a repeated single field or a malformed number
//   is refused with its path rather than dropped or guessed.
// - A user extension (element or attribute in another namespace) becomes the
//   key "prefix:localName" and its namespace is declared in the output
//   @context. The XML prefix is kept unless it clashes with a term of the
//   EPCIS context, a URI scheme, a "scheme:" that starts a value in the
//   document, or another namespace; then it becomes prefix_1, prefix_2, ...
//   The default namespace gets ns1, ns2, ... The namespace URI is
//   kept exactly as written, so event hashes over extensions do not change.
//   An element with element children or attributes is an object (attributes
//   as members; text beside them as "@value"), repeated names become an
//   array, text is a string (trimmed, never typed), an empty element is "".
//   Unqualified elements inside an extension keep their bare local name.
//   xsi:* and xml:* attributes are dropped. A document-level <p:ignoreFields>
//   becomes the array of its children's names, as the event hash expects.
//   Empty standard lists (<epcList/>) are left out.
// - The header: master data (EPCISHeader/extension/EPCISMasterData) is kept as
//   epcisHeader.epcisMasterData.vocabularyList; of the SBDH only sender,
//   receiver and instanceIdentifier (the identifiers) are kept, the rest is
//   dropped. schemaVersion is "2.0" (the output is a 2.0 document).
// - Hostile input is refused, never acted on: no network, no DTD loading, a
//   document that declares any entity (XXE, billion laughs) is refused, at
//   most `max_depth` nested elements and `max_document_bytes` bytes. Errors
//   are InvalidArgument (ResourceExhausted for the size limit) with the
//   element path and line, e.g.
//   "/EPCISDocument/EPCISBody/EventList/ObjectEvent[2]/eventTime (line 31): ...".
// - Documents that are not event documents (EPCISMasterDataDocument,
//   EPCISCaptureJob, any other root) are refused with InvalidArgument.
//
// The conversion is pure and thread-safe (libxml2 is initialised once).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "custos/core/status.h"

namespace custos::epcis {

struct XmlBindingLimits {
  // Larger documents are refused before parsing (ResourceExhausted).
  size_t max_document_bytes = 64u << 20;
  // Element nesting, counting the root as 1. libxml2 stops at 256 anyway.
  size_t max_depth = 64;
};

// The EPCIS 2.0 JSON-LD EPCISDocument or EPCISQueryDocument for an EPCIS XML
// document (see the contract above).
Result<std::string> xml_document_to_json(std::string_view xml, const XmlBindingLimits& limits = {});

}  // namespace custos::epcis
