#include "custos/epcis/xml_binding.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <algorithm>
#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "xml_binding_json.h"

namespace custos::epcis {
namespace {

using xml_binding::JsonNode;

constexpr std::string_view kEpcisNamespaces[] = {"urn:epcglobal:epcis:xsd:2",
                                                 "urn:epcglobal:epcis:xsd:1"};
constexpr std::string_view kQueryNamespaces[] = {"urn:epcglobal:epcis-query:xsd:2",
                                                 "urn:epcglobal:epcis-query:xsd:1"};
constexpr std::string_view kMasterDataNamespaces[] = {"urn:epcglobal:epcis-masterdata:xsd:2",
                                                      "urn:epcglobal:epcis-masterdata:xsd:1"};
constexpr std::string_view kSbdhNamespace =
    "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader";
constexpr std::string_view kXsiNamespace = "http://www.w3.org/2001/XMLSchema-instance";
constexpr std::string_view kXmlNamespace = "http://www.w3.org/XML/1998/namespace";
constexpr std::string_view kEpcisContextUrl =
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

// Prefixes the EPCIS context defines; XML namespaces with exactly these URIs
// use them without a new declaration.
const std::map<std::string_view, std::string_view> kContextPrefixes = {
    {"epcis", "https://ref.gs1.org/epcis/"},
    {"cbv", "https://ref.gs1.org/cbv/"},
    {"cbvmda", "urn:epcglobal:cbv:mda:"},
    {"gs1", "https://gs1.org/voc/"},
    {"rdfs", "http://www.w3.org/2000/01/rdf-schema#"},
    {"owl", "http://www.w3.org/2002/07/owl#"},
    {"xsd", "http://www.w3.org/2001/XMLSchema#"},
    {"dcterms", "http://purl.org/dc/terms/"},
};

// Names an output prefix must not take: terms of the (protected) EPCIS
// context, and URI schemes, which would turn values such as
// "https://example.com" into compact IRIs.
const std::set<std::string_view> kReservedPrefixes = {"id",
                                                      "type",
                                                      "baseURL",
                                                      "ObjectEvent",
                                                      "AggregationEvent",
                                                      "TransformationEvent",
                                                      "AssociationEvent",
                                                      "TransactionEvent",
                                                      "Collection",
                                                      "member",
                                                      "eventTime",
                                                      "recordTime",
                                                      "eventTimeZoneOffset",
                                                      "action",
                                                      "certificationInfo",
                                                      "bizStep",
                                                      "disposition",
                                                      "bizLocation",
                                                      "readPoint",
                                                      "transformationID",
                                                      "epcList",
                                                      "sourceList",
                                                      "destinationList",
                                                      "persistentDisposition",
                                                      "quantity",
                                                      "epcClass",
                                                      "uom",
                                                      "quantityList",
                                                      "bizTransactionList",
                                                      "parentID",
                                                      "childEPCs",
                                                      "childQuantityList",
                                                      "inputEPCList",
                                                      "outputEPCList",
                                                      "inputQuantityList",
                                                      "outputQuantityList",
                                                      "sensorElementList",
                                                      "errorDeclaration",
                                                      "eventID",
                                                      "creationDate",
                                                      "sender",
                                                      "receiver",
                                                      "instanceIdentifier",
                                                      "schemaVersion",
                                                      "ilmd",
                                                      "EPCISDocument",
                                                      "EPCISQueryDocument",
                                                      "epcisHeader",
                                                      "masterData",
                                                      "vocabularyList",
                                                      "epcisBody",
                                                      "queryResults",
                                                      "subscriptionID",
                                                      "queryName",
                                                      "resultsBody",
                                                      "eventList",
                                                      "children",
                                                      "http",
                                                      "https",
                                                      "urn",
                                                      "ftp",
                                                      "file",
                                                      "geo",
                                                      "ni",
                                                      "mailto",
                                                      "tel",
                                                      "tag",
                                                      "uuid",
                                                      "data",
                                                      "dns",
                                                      "ldap",
                                                      "did",
                                                      "xml",
                                                      "xmlns"};

const std::set<std::string_view> kEventTypes = {"ObjectEvent", "AggregationEvent",
                                                "TransactionEvent", "TransformationEvent",
                                                "AssociationEvent"};

std::string_view as_view(const xmlChar* text) {
  return text == nullptr ? std::string_view() : reinterpret_cast<const char*>(text);
}

std::string_view local_name(const xmlNode* node) { return as_view(node->name); }

std::string_view namespace_of(const xmlNode* node) {
  return node->ns == nullptr ? std::string_view() : as_view(node->ns->href);
}

template <size_t N>
bool one_of(std::string_view value, const std::string_view (&list)[N]) {
  for (std::string_view item : list) {
    if (item == value) return true;
  }
  return false;
}

// Unqualified (as the EPCIS XSDs declare event fields) or in an EPCIS namespace.
bool is_standard(const xmlNode* node) {
  std::string_view ns = namespace_of(node);
  return ns.empty() || one_of(ns, kEpcisNamespaces) || one_of(ns, kQueryNamespaces) ||
         one_of(ns, kMasterDataNamespaces);
}

bool is_element(const xmlNode* node) { return node->type == XML_ELEMENT_NODE; }

bool is_xml_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && is_xml_space(text[begin])) ++begin;
  while (end > begin && is_xml_space(text[end - 1])) --end;
  return std::string(text.substr(begin, end - begin));
}

// The element's name in an error path: local for EPCIS elements, as written
// (prefix:local) for others, with [n] among same-named siblings.
std::string path_step(const xmlNode* node) {
  std::string step;
  if (!is_standard(node) && node->ns != nullptr && node->ns->prefix != nullptr) {
    step += as_view(node->ns->prefix);
    step += ':';
  }
  step += local_name(node);
  if (node->parent == nullptr) return step;
  size_t position = 0;
  size_t count = 0;
  for (const xmlNode* sibling = node->parent->children; sibling != nullptr;
       sibling = sibling->next) {
    if (!is_element(sibling) || !xmlStrEqual(sibling->name, node->name) ||
        namespace_of(sibling) != namespace_of(node)) {
      continue;
    }
    ++count;
    if (sibling == node) position = count;
  }
  if (count > 1) {
    step += '[';
    step += std::to_string(position);
    step += ']';
  }
  return step;
}

// Input text quoted in an error message: at most 64 bytes, control
// characters (libxml2 messages have newlines) as spaces.
std::string shown(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string out;
  for (char c : text.substr(0, kMax)) out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  if (text.size() > kMax) out += "...";
  return out;
}

// "/a/b[2]/c"; a deep path keeps its first 8 and last 4 steps.
std::string node_path(const xmlNode* node) {
  std::vector<std::string> steps;
  for (const xmlNode* n = node; n != nullptr && is_element(n); n = n->parent) {
    steps.push_back(shown(path_step(n)));
  }
  if (steps.empty()) return "/";
  std::reverse(steps.begin(), steps.end());
  constexpr size_t kHead = 8;
  constexpr size_t kTail = 4;
  std::string path;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps.size() > kHead + kTail + 1 && i == kHead) {
      path += "/...(" + std::to_string(steps.size() - kHead - kTail) + " more)";
      i = steps.size() - kTail - 1;
      continue;
    }
    path += '/';
    path += steps[i];
  }
  return path;
}

Status error_at(const xmlNode* node, std::string_view message) {
  std::string text = node_path(node);
  text += " (line ";
  text += std::to_string(xmlGetLineNo(node));
  text += "): ";
  text += message;
  return invalid_argument(std::move(text));
}

// xsd:decimal or xsd:double text as a JSON number; nullopt when it is not a
// finite number (INF and NaN have no JSON form).
std::optional<std::string> json_number(std::string_view text) {
  size_t i = 0;
  std::string out;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    if (text[i] == '-') out += '-';
    ++i;
  }
  std::string integer_digits;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') integer_digits += text[i++];
  std::string fraction_digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') fraction_digits += text[i++];
  }
  if (integer_digits.empty() && fraction_digits.empty()) return std::nullopt;
  size_t first_nonzero = integer_digits.find_first_not_of('0');
  if (first_nonzero == std::string::npos) {
    out += '0';
  } else {
    out += integer_digits.substr(first_nonzero);
  }
  if (!fraction_digits.empty()) {
    out += '.';
    out += fraction_digits;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    out += 'e';
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) out += text[i++];
    size_t exponent_start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') out += text[i++];
    if (i == exponent_start) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  return out;
}

// urn:epcglobal:cbv:<kind>:<name> as the bare name the JSON binding uses;
// other values unchanged.
std::string cbv_short_name(std::string value, std::string_view kind) {
  std::string prefix = "urn:epcglobal:cbv:";
  prefix += kind;
  prefix += ':';
  if (value.size() > prefix.size() && value.starts_with(prefix) &&
      value.find(':', prefix.size()) == std::string::npos) {
    return value.substr(prefix.size());
  }
  return value;
}

// Output prefixes for XML namespaces, and the @context entries they need.
class NamespaceTable {
 public:
  // `value_schemes`: words that start a value as "word:..." somewhere in the
  // document. XML values are plain strings ("example:z" is a URI with the
  // scheme "example"), so no prefix may take such a word, or JSON-LD (and the
  // event hash) would read the value as a compact IRI.
  explicit NamespaceTable(std::set<std::string, std::less<>> value_schemes)
      : value_schemes_(std::move(value_schemes)) {}

  std::string key(std::string_view namespace_uri, std::string_view xml_prefix,
                  std::string_view local) {
    if (namespace_uri.empty()) return std::string(local);
    std::string key = prefix_for(namespace_uri, xml_prefix);
    key += ':';
    key += local;
    return key;
  }

  // {"prefix": "uri", ...} for the namespaces not in the EPCIS context, in
  // order of first use; an empty object when there are none.
  JsonNode context_entries() const {
    JsonNode entries = JsonNode::object();
    for (const auto& [prefix, uri] : declared_) entries.set(prefix, JsonNode::string(uri));
    return entries;
  }

 private:
  std::string prefix_for(std::string_view uri, std::string_view wanted) {
    auto known = prefix_of_uri_.find(uri);
    if (known != prefix_of_uri_.end()) return known->second;
    for (const auto& [prefix, context_uri] : kContextPrefixes) {
      if (context_uri == uri) return remember(uri, std::string(prefix), false);
    }
    if (usable(wanted)) return remember(uri, std::string(wanted), true);
    // A clashing prefix p becomes p_1, p_2, ...; the default namespace ns1, ns2, ...
    std::string base = wanted.empty() ? "ns" : std::string(wanted) + "_";
    size_t& last = last_suffix_[base];
    while (true) {
      std::string candidate = base + std::to_string(++last);
      if (usable(candidate)) return remember(uri, std::move(candidate), true);
    }
  }

  bool usable(std::string_view prefix) const {
    return !prefix.empty() && !kReservedPrefixes.contains(prefix) &&
           !kContextPrefixes.contains(prefix) && !used_prefixes_.contains(prefix) &&
           !value_schemes_.contains(prefix);
  }

  std::string remember(std::string_view uri, std::string prefix, bool declare) {
    prefix_of_uri_.emplace(std::string(uri), prefix);
    used_prefixes_.insert(prefix);
    if (declare) declared_.emplace_back(prefix, std::string(uri));
    return prefix;
  }

  std::set<std::string, std::less<>> value_schemes_;
  std::map<std::string, std::string, std::less<>> prefix_of_uri_;
  std::set<std::string, std::less<>> used_prefixes_;
  std::vector<std::pair<std::string, std::string>> declared_;
  // The last number made up per base, so making up prefixes stays linear.
  std::map<std::string, size_t, std::less<>> last_suffix_;
};

// The "word" of a value shaped "word:rest" (a URI scheme or CURIE prefix).
std::string_view value_scheme(std::string_view value) {
  size_t start = 0;
  while (start < value.size() && is_xml_space(value[start])) ++start;
  size_t colon = value.find(':', start);
  if (colon == std::string_view::npos || colon == start) return {};
  std::string_view word = value.substr(start, colon - start);
  for (char c : word) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '+';
    if (!ok) return {};
  }
  return word;
}

// value_scheme of every unqualified attribute and of the text of every
// unqualified element (the places standard, URI-typed values live).
std::set<std::string, std::less<>> collect_value_schemes(const xmlNode* root) {
  std::set<std::string, std::less<>> schemes;
  std::vector<const xmlNode*> pending = {root};
  while (!pending.empty()) {
    const xmlNode* node = pending.back();
    pending.pop_back();
    for (const xmlAttr* attribute = node->properties; attribute != nullptr;
         attribute = attribute->next) {
      if (attribute->ns != nullptr) continue;
      for (const xmlNode* text = attribute->children; text != nullptr; text = text->next) {
        std::string_view scheme = value_scheme(as_view(text->content));
        if (!scheme.empty()) schemes.emplace(scheme);
      }
    }
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (is_element(child)) {
        pending.push_back(child);
      } else if (child->type == XML_TEXT_NODE && node->ns == nullptr) {
        std::string_view scheme = value_scheme(as_view(child->content));
        if (!scheme.empty()) schemes.emplace(scheme);
      }
    }
  }
  return schemes;
}

class Converter {
 public:
  explicit Converter(const xmlNode* root) : namespaces_(collect_value_schemes(root)) {}

  Result<std::string> document(const xmlNode* root) {
    std::string_view ns = namespace_of(root);
    std::string_view name = local_name(root);
    const bool query = name == "EPCISQueryDocument" && one_of(ns, kQueryNamespaces);
    if (query || (name == "EPCISDocument" && one_of(ns, kEpcisNamespaces))) {
      // an event document
    } else if (name == "EPCISMasterDataDocument") {
      return error_at(root,
                      "an EPCISMasterDataDocument carries master data only, not events; "
                      "capture takes EPCISDocument or EPCISQueryDocument");
    } else if (name == "EPCISCaptureJob") {
      return error_at(root, "an EPCISCaptureJob is a capture job status, not an EPCIS document");
    } else {
      std::string message = "not an EPCIS document: the root element is {";
      message += shown(ns);
      message += '}';
      message += shown(name);
      message +=
          ", expected EPCISDocument (urn:epcglobal:epcis:xsd:2 or :1) or "
          "EPCISQueryDocument (urn:epcglobal:epcis-query:xsd:2 or :1)";
      return error_at(root, message);
    }

    JsonNode document = JsonNode::object();
    document.set("type", JsonNode::string(query ? "EPCISQueryDocument" : "EPCISDocument"));
    document.set("schemaVersion", JsonNode::string("2.0"));
    JsonNode extensions = JsonNode::object();
    for (const xmlAttr* attribute = root->properties; attribute != nullptr;
         attribute = attribute->next) {
      std::string_view attribute_name = as_view(attribute->name);
      if (attribute->ns == nullptr) {
        if (attribute_name == "creationDate") {
          document.set("creationDate", JsonNode::string(attribute_text(attribute)));
        } else if (attribute_name != "schemaVersion") {
          return error_at(root, "unexpected attribute " + shown(attribute_name));
        }
        continue;
      }
      CUSTOS_RETURN_IF_ERROR(add_extension_attribute(extensions, attribute));
    }

    JsonNode header = JsonNode::object();
    JsonNode body = JsonNode::object();
    JsonNode query_results = JsonNode::object();
    bool have_body = false;
    for (const xmlNode* child = root->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      std::string_view child_name = local_name(child);
      if (!is_standard(child)) {
        if (child_name == "ignoreFields") {
          CUSTOS_RETURN_IF_ERROR(ignore_fields(extensions, child));
        } else {
          CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(child));
          extensions.add_repeated(extension_key(child), std::move(value));
        }
      } else if (child_name == "EPCISHeader") {
        CUSTOS_RETURN_IF_ERROR(epcis_header(document, header, child));
      } else if (child_name == "EPCISBody") {
        if (have_body) return error_at(child, "repeated EPCISBody");
        have_body = true;
        CUSTOS_RETURN_IF_ERROR(query ? query_body(query_results, extensions, child)
                                     : event_body(body, child));
      } else if (query && (child_name == "queryName" || child_name == "subscriptionID" ||
                           child_name == "resultsBody")) {
        // Query results written straight under the root (as some producers
        // do) are read as if inside EPCISBody/QueryResults.
        have_body = true;
        CUSTOS_RETURN_IF_ERROR(query_results_member(query_results, child));
      } else if (child_name == "extension") {
        CUSTOS_RETURN_IF_ERROR(unknown_children(child));
      } else {
        return error_at(child, "unexpected element " + shown(child_name));
      }
    }
    if (!have_body) return error_at(root, "no EPCISBody");
    if (query) {
      if (query_results.find("resultsBody") == nullptr) {
        return error_at(root, "no QueryResults/resultsBody");
      }
      body.set("queryResults", std::move(query_results));
    }
    if (!header.empty()) document.set("epcisHeader", std::move(header));
    document.set("epcisBody", std::move(body));
    document.take_members(extensions);

    JsonNode output = JsonNode::object();
    JsonNode context = JsonNode::array();
    context.push(JsonNode::string(std::string(kEpcisContextUrl)));
    JsonNode entries = namespaces_.context_entries();
    if (!entries.empty()) context.push(std::move(entries));
    output.set("@context", std::move(context));
    output.take_members(document);
    std::string json;
    output.serialise(json);
    return json;
  }

 private:
  std::string extension_key(const xmlNode* node) {
    std::string_view prefix = node->ns == nullptr ? std::string_view() : as_view(node->ns->prefix);
    return namespaces_.key(namespace_of(node), prefix, local_name(node));
  }

  static std::string attribute_text(const xmlAttr* attribute) {
    std::string text;
    for (const xmlNode* child = attribute->children; child != nullptr; child = child->next) {
      if (child->type == XML_TEXT_NODE) text += as_view(child->content);
    }
    return trim(text);
  }

  // A namespaced attribute as an extension member; xsi:* and xml:* are
  // schema and XML machinery, not data.
  Status add_extension_attribute(JsonNode& object, const xmlAttr* attribute) {
    std::string_view ns = as_view(attribute->ns->href);
    if (ns == kXsiNamespace || ns == kXmlNamespace) return Status::ok();
    std::string key = namespaces_.key(ns, as_view(attribute->ns->prefix), as_view(attribute->name));
    object.add_repeated(std::move(key), JsonNode::string(attribute_text(attribute)));
    return Status::ok();
  }

  // The trimmed text of an element that must not have element children.
  static Result<std::string> simple_text(const xmlNode* node) {
    std::string text;
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) {
        text += as_view(child->content);
      } else if (is_element(child)) {
        return error_at(child, "unexpected element inside " + std::string(local_name(node)) +
                                   ", which holds text only");
      }
    }
    return trim(text);
  }

  // Any element (user extension) as JSON: text as a string, element children
  // and attributes as an object (repeated names as arrays); text next to
  // children or attributes goes to "@value".
  Result<JsonNode> extension_value(const xmlNode* node) {
    JsonNode object = JsonNode::object();
    std::string text;
    for (const xmlAttr* attribute = node->properties; attribute != nullptr;
         attribute = attribute->next) {
      if (attribute->ns == nullptr) {
        object.add_repeated(std::string(as_view(attribute->name)),
                            JsonNode::string(attribute_text(attribute)));
      } else {
        CUSTOS_RETURN_IF_ERROR(add_extension_attribute(object, attribute));
      }
    }
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) {
        text += as_view(child->content);
      } else if (is_element(child)) {
        CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(child));
        object.add_repeated(extension_key(child), std::move(value));
      }
    }
    std::string trimmed = trim(text);
    if (object.empty()) return JsonNode::string(std::move(trimmed));
    if (!trimmed.empty()) object.set("@value", JsonNode::string(std::move(trimmed)));
    return object;
  }

  // <p:ignoreFields><q:a/><q:b/></p:ignoreFields> -> "p:ignoreFields": ["q:a", "q:b"].
  Status ignore_fields(JsonNode& extensions, const xmlNode* node) {
    JsonNode names = JsonNode::array();
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (is_element(child)) names.push(JsonNode::string(extension_key(child)));
    }
    extensions.set(extension_key(node), std::move(names));
    return Status::ok();
  }

  // Content of a standard <extension> wrapper that no rule claims: only user
  // extensions may be there, and they have nowhere to go in JSON, so any
  // element is refused rather than dropped silently.
  static Status unknown_children(const xmlNode* node) {
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (is_element(child)) {
        return error_at(child, "unexpected element " + shown(local_name(child)));
      }
    }
    return Status::ok();
  }

  Status set_once(JsonNode& object, const xmlNode* node, std::string key, JsonNode value) {
    if (object.find(key) != nullptr) return error_at(node, "repeated element " + key);
    object.set(std::move(key), std::move(value));
    return Status::ok();
  }

  // ---- documents ----

  Status event_body(JsonNode& body, const xmlNode* node) {
    JsonNode events = JsonNode::array();
    JsonNode extensions = JsonNode::object();
    bool have_list = false;
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      if (!is_standard(child)) {
        CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(child));
        extensions.add_repeated(extension_key(child), std::move(value));
      } else if (local_name(child) == "EventList") {
        if (have_list) return error_at(child, "repeated EventList");
        have_list = true;
        CUSTOS_RETURN_IF_ERROR(event_list(events, child));
      } else if (local_name(child) == "extension") {
        CUSTOS_RETURN_IF_ERROR(unknown_children(child));
      } else {
        return error_at(child, "unexpected element " + shown(local_name(child)));
      }
    }
    body.set("eventList", std::move(events));
    body.take_members(extensions);
    return Status::ok();
  }

  Status query_body(JsonNode& query_results, JsonNode& extensions, const xmlNode* node) {
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      if (!is_standard(child)) {
        CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(child));
        extensions.add_repeated(extension_key(child), std::move(value));
        continue;
      }
      if (local_name(child) != "QueryResults") {
        return error_at(child, "a query document body holds QueryResults, not " +
                                   std::string(local_name(child)));
      }
      for (const xmlNode* member = child->children; member != nullptr; member = member->next) {
        if (is_element(member)) CUSTOS_RETURN_IF_ERROR(query_results_member(query_results, member));
      }
    }
    return Status::ok();
  }

  Status query_results_member(JsonNode& query_results, const xmlNode* node) {
    if (!is_standard(node)) {
      CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(node));
      query_results.add_repeated(extension_key(node), std::move(value));
      return Status::ok();
    }
    std::string_view name = local_name(node);
    if (name == "queryName" || name == "subscriptionID") {
      CUSTOS_ASSIGN_OR_RETURN(std::string text, simple_text(node));
      return set_once(query_results, node, std::string(name), JsonNode::string(std::move(text)));
    }
    if (name == "extension") return unknown_children(node);
    if (name != "resultsBody") return error_at(node, "unexpected element " + shown(name));
    if (query_results.find("resultsBody") != nullptr) {
      return error_at(node, "repeated element resultsBody");
    }
    JsonNode results = JsonNode::object();
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      std::string_view child_name = local_name(child);
      if (is_standard(child) && child_name == "EventList") {
        JsonNode events = JsonNode::array();
        CUSTOS_RETURN_IF_ERROR(event_list(events, child));
        CUSTOS_RETURN_IF_ERROR(set_once(results, child, "eventList", std::move(events)));
      } else if (is_standard(child) && child_name == "VocabularyList") {
        CUSTOS_ASSIGN_OR_RETURN(JsonNode vocabularies, vocabulary_list(child));
        CUSTOS_RETURN_IF_ERROR(set_once(results, child, "vocabularyList", std::move(vocabularies)));
      } else {
        return error_at(child, "unexpected element " + shown(child_name));
      }
    }
    query_results.set("resultsBody", std::move(results));
    return Status::ok();
  }

  // EPCISHeader: the SBDH's sender, receiver and instance identifier go to the
  // document; master data to epcisHeader.epcisMasterData.
  Status epcis_header(JsonNode& document, JsonNode& header, const xmlNode* node) {
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      std::string_view name = local_name(child);
      if (namespace_of(child) == kSbdhNamespace && name == "StandardBusinessDocumentHeader") {
        standard_business_document_header(document, child);
      } else if (!is_standard(child)) {
        CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(child));
        header.add_repeated(extension_key(child), std::move(value));
      } else if (name == "extension") {
        CUSTOS_RETURN_IF_ERROR(epcis_header(document, header, child));
      } else if (name == "EPCISMasterData") {
        for (const xmlNode* list = child->children; list != nullptr; list = list->next) {
          if (!is_element(list)) continue;
          if (!is_standard(list) || local_name(list) != "VocabularyList") {
            if (local_name(list) == "extension") {
              CUSTOS_RETURN_IF_ERROR(unknown_children(list));
              continue;
            }
            return error_at(list, "unexpected element " + shown(local_name(list)));
          }
          CUSTOS_ASSIGN_OR_RETURN(JsonNode vocabularies, vocabulary_list(list));
          JsonNode master_data = JsonNode::object();
          master_data.set("vocabularyList", std::move(vocabularies));
          CUSTOS_RETURN_IF_ERROR(set_once(header, list, "epcisMasterData", std::move(master_data)));
        }
      } else {
        return error_at(child, "unexpected element " + shown(name));
      }
    }
    return Status::ok();
  }

  static const xmlNode* sbdh_child(const xmlNode* node, std::string_view name) {
    if (node == nullptr) return nullptr;
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (is_element(child) && local_name(child) == name) return child;
    }
    return nullptr;
  }

  void standard_business_document_header(JsonNode& document, const xmlNode* sbdh) {
    auto copy = [&](const xmlNode* from, const char* key) {
      if (from == nullptr || document.find(key) != nullptr) return;
      Result<std::string> text = simple_text(from);
      if (text.is_ok() && !text->empty()) document.set(key, JsonNode::string(std::move(*text)));
    };
    copy(sbdh_child(sbdh_child(sbdh, "Sender"), "Identifier"), "sender");
    copy(sbdh_child(sbdh_child(sbdh, "Receiver"), "Identifier"), "receiver");
    copy(sbdh_child(sbdh_child(sbdh, "DocumentIdentification"), "InstanceIdentifier"),
         "instanceIdentifier");
  }

  // ---- master data ----

  Result<JsonNode> vocabulary_list(const xmlNode* node) {
    JsonNode vocabularies = JsonNode::array();
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      if (!is_standard(child) || local_name(child) != "Vocabulary") {
        return error_at(child, "unexpected element " + shown(local_name(child)));
      }
      JsonNode vocabulary = JsonNode::object();
      JsonNode extensions = JsonNode::object();
      CUSTOS_RETURN_IF_ERROR(id_attribute(vocabulary, extensions, child, "type"));
      JsonNode elements = JsonNode::array();
      for (const xmlNode* list = child->children; list != nullptr; list = list->next) {
        if (!is_element(list)) continue;
        if (!is_standard(list)) {
          CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(list));
          extensions.add_repeated(extension_key(list), std::move(value));
        } else if (local_name(list) == "VocabularyElementList") {
          for (const xmlNode* element = list->children; element != nullptr;
               element = element->next) {
            if (!is_element(element)) continue;
            if (!is_standard(element) || local_name(element) != "VocabularyElement") {
              return error_at(element, "unexpected element " + shown(local_name(element)));
            }
            CUSTOS_ASSIGN_OR_RETURN(JsonNode value, vocabulary_element(element));
            elements.push(std::move(value));
          }
        } else if (local_name(list) == "extension") {
          CUSTOS_RETURN_IF_ERROR(unknown_children(list));
        } else {
          return error_at(list, "unexpected element " + shown(local_name(list)));
        }
      }
      if (!elements.empty()) vocabulary.set("vocabularyElementList", std::move(elements));
      vocabulary.take_members(extensions);
      vocabularies.push(std::move(vocabulary));
    }
    return vocabularies;
  }

  // The unqualified attribute `name` (required) as a member; namespaced
  // attributes as extensions.
  Status id_attribute(JsonNode& object, JsonNode& extensions, const xmlNode* node,
                      std::string_view name) {
    bool found = false;
    for (const xmlAttr* attribute = node->properties; attribute != nullptr;
         attribute = attribute->next) {
      if (attribute->ns != nullptr) {
        CUSTOS_RETURN_IF_ERROR(add_extension_attribute(extensions, attribute));
      } else if (as_view(attribute->name) == name) {
        object.set(std::string(name), JsonNode::string(attribute_text(attribute)));
        found = true;
      } else {
        return error_at(node, "unexpected attribute " + shown(as_view(attribute->name)));
      }
    }
    if (!found) return error_at(node, "missing attribute " + std::string(name));
    return Status::ok();
  }

  Result<JsonNode> vocabulary_element(const xmlNode* node) {
    JsonNode element = JsonNode::object();
    JsonNode extensions = JsonNode::object();
    CUSTOS_RETURN_IF_ERROR(id_attribute(element, extensions, node, "id"));
    JsonNode attributes = JsonNode::array();
    JsonNode children = JsonNode::array();
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      std::string_view name = local_name(child);
      if (!is_standard(child)) {
        CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(child));
        extensions.add_repeated(extension_key(child), std::move(value));
      } else if (name == "attribute") {
        JsonNode attribute = JsonNode::object();
        JsonNode attribute_extensions = JsonNode::object();
        CUSTOS_RETURN_IF_ERROR(id_attribute(attribute, attribute_extensions, child, "id"));
        bool has_elements = false;
        for (const xmlNode* c = child->children; c != nullptr; c = c->next) {
          has_elements = has_elements || is_element(c);
        }
        if (has_elements) {
          JsonNode value = JsonNode::object();
          for (const xmlNode* c = child->children; c != nullptr; c = c->next) {
            if (!is_element(c)) continue;
            CUSTOS_ASSIGN_OR_RETURN(JsonNode member, extension_value(c));
            value.add_repeated(extension_key(c), std::move(member));
          }
          attribute.set("attribute", std::move(value));
        } else {
          CUSTOS_ASSIGN_OR_RETURN(std::string text, simple_text(child));
          attribute.set("attribute", JsonNode::string(std::move(text)));
        }
        attribute.take_members(attribute_extensions);
        attributes.push(std::move(attribute));
      } else if (name == "children") {
        for (const xmlNode* id = child->children; id != nullptr; id = id->next) {
          if (!is_element(id)) continue;
          if (local_name(id) != "id") {
            return error_at(id, "unexpected element " + shown(local_name(id)));
          }
          CUSTOS_ASSIGN_OR_RETURN(std::string text, simple_text(id));
          children.push(JsonNode::string(std::move(text)));
        }
      } else if (name == "extension") {
        CUSTOS_RETURN_IF_ERROR(unknown_children(child));
      } else {
        return error_at(child, "unexpected element " + shown(name));
      }
    }
    if (!attributes.empty()) element.set("attributes", std::move(attributes));
    if (!children.empty()) element.set("children", std::move(children));
    element.take_members(extensions);
    return element;
  }

  // ---- events ----

  Status event_list(JsonNode& events, const xmlNode* node) {
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      std::string_view name = local_name(child);
      if (!is_standard(child)) {
        return error_at(child, "unknown event type " + shown(name));
      }
      if (name == "extension") {
        // EPCIS 1.x: TransformationEvent (and later types) inside
        // EventList/extension, possibly nested further.
        CUSTOS_RETURN_IF_ERROR(event_list(events, child));
      } else if (kEventTypes.contains(name)) {
        CUSTOS_ASSIGN_OR_RETURN(JsonNode value, event(child));
        events.push(std::move(value));
      } else if (name == "QuantityEvent") {
        return error_at(child,
                        "QuantityEvent (deprecated in EPCIS 1.1, removed in 2.0) is not "
                        "accepted; send an ObjectEvent with a quantityList");
      } else {
        return error_at(child, "unknown event type " + shown(name));
      }
    }
    return Status::ok();
  }

  Result<JsonNode> event(const xmlNode* node) {
    JsonNode event = JsonNode::object();
    event.set("type", JsonNode::string(std::string(local_name(node))));
    for (const xmlAttr* attribute = node->properties; attribute != nullptr;
         attribute = attribute->next) {
      if (attribute->ns == nullptr) {
        return error_at(node, "unexpected attribute " + shown(as_view(attribute->name)));
      }
      CUSTOS_RETURN_IF_ERROR(add_extension_attribute(event, attribute));
    }
    CUSTOS_RETURN_IF_ERROR(event_members(event, node));
    return event;
  }

  // The children of an event or of its (1.x) extension/baseExtension wrappers.
  Status event_members(JsonNode& event, const xmlNode* node) {
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      if (!is_standard(child)) {
        CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(child));
        event.add_repeated(extension_key(child), std::move(value));
        continue;
      }
      CUSTOS_RETURN_IF_ERROR(event_field(event, child));
    }
    return Status::ok();
  }

  Status event_field(JsonNode& event, const xmlNode* node) {
    static const std::set<std::string_view> kText = {
        "eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "certificationInfo",
        "parentID",  "action",     "transformationID"};
    static const std::set<std::string_view> kEpcLists = {"epcList", "childEPCs", "inputEPCList",
                                                         "outputEPCList"};
    static const std::set<std::string_view> kQuantityLists = {
        "quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"};
    const std::string name(local_name(node));
    if (name == "extension" || name == "baseExtension") return event_members(event, node);
    if (kText.contains(name)) {
      CUSTOS_ASSIGN_OR_RETURN(std::string text, simple_text(node));
      return set_once(event, node, name, JsonNode::string(std::move(text)));
    }
    if (name == "bizStep" || name == "disposition") {
      CUSTOS_ASSIGN_OR_RETURN(std::string text, simple_text(node));
      std::string value = cbv_short_name(std::move(text), name == "bizStep" ? "bizstep" : "disp");
      return set_once(event, node, name, JsonNode::string(std::move(value)));
    }
    if (kEpcLists.contains(name)) {
      JsonNode list = JsonNode::array();
      CUSTOS_RETURN_IF_ERROR(text_list(list, node, "epc"));
      if (list.empty()) return Status::ok();  // an empty list says nothing
      return set_once(event, node, name, std::move(list));
    }
    if (kQuantityLists.contains(name)) {
      CUSTOS_ASSIGN_OR_RETURN(JsonNode list, quantity_list(node));
      if (list.empty()) return Status::ok();
      return set_once(event, node, name, std::move(list));
    }
    if (name == "readPoint" || name == "bizLocation") {
      CUSTOS_ASSIGN_OR_RETURN(JsonNode place, location(node));
      return set_once(event, node, name, std::move(place));
    }
    if (name == "bizTransactionList") {
      CUSTOS_ASSIGN_OR_RETURN(JsonNode list, typed_list(node, "bizTransaction", "btt"));
      return set_once(event, node, name, std::move(list));
    }
    if (name == "sourceList" || name == "destinationList") {
      CUSTOS_ASSIGN_OR_RETURN(
          JsonNode list, typed_list(node, name == "sourceList" ? "source" : "destination", "sdt"));
      return set_once(event, node, name, std::move(list));
    }
    if (name == "sensorElementList") {
      CUSTOS_ASSIGN_OR_RETURN(JsonNode list, sensor_element_list(node));
      return set_once(event, node, name, std::move(list));
    }
    if (name == "persistentDisposition") {
      CUSTOS_ASSIGN_OR_RETURN(JsonNode value, persistent_disposition(node));
      return set_once(event, node, name, std::move(value));
    }
    if (name == "ilmd") {
      JsonNode ilmd = JsonNode::object();
      CUSTOS_RETURN_IF_ERROR(extensions_only(ilmd, node));
      return set_once(event, node, name, std::move(ilmd));
    }
    if (name == "errorDeclaration") {
      CUSTOS_ASSIGN_OR_RETURN(JsonNode value, error_declaration(node));
      return set_once(event, node, name, std::move(value));
    }
    if (name == "QuantityEvent" || kEventTypes.contains(name)) {
      return error_at(node, "an event inside an event");
    }
    return error_at(
        node, "unexpected element " + shown(name) + " in " + std::string(local_name(node->parent)));
  }

  // User extensions of an element whose standard content is only
  // <extension> wrappers (ilmd).
  Status extensions_only(JsonNode& object, const xmlNode* node) {
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      if (!is_standard(child)) {
        CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(child));
        object.add_repeated(extension_key(child), std::move(value));
      } else if (local_name(child) == "extension") {
        CUSTOS_RETURN_IF_ERROR(extensions_only(object, child));
      } else {
        return error_at(child, "unexpected element " + shown(local_name(child)));
      }
    }
    return Status::ok();
  }

  // <list><member>text</member>...</list> -> ["text", ...].
  Status text_list(JsonNode& list, const xmlNode* node, std::string_view member) {
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      if (!is_standard(child) || local_name(child) != member) {
        return error_at(child,
                        "expected " + std::string(member) + " in " + std::string(local_name(node)));
      }
      CUSTOS_ASSIGN_OR_RETURN(std::string text, simple_text(child));
      list.push(JsonNode::string(std::move(text)));
    }
    return Status::ok();
  }

  Result<JsonNode> quantity_list(const xmlNode* node) {
    JsonNode list = JsonNode::array();
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      if (!is_standard(child) || local_name(child) != "quantityElement") {
        return error_at(child, "expected quantityElement in " + std::string(local_name(node)));
      }
      JsonNode element = JsonNode::object();
      for (const xmlNode* field = child->children; field != nullptr; field = field->next) {
        if (!is_element(field)) continue;
        std::string name(local_name(field));
        if (!is_standard(field)) {
          CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(field));
          element.add_repeated(extension_key(field), std::move(value));
          continue;
        }
        CUSTOS_ASSIGN_OR_RETURN(std::string text, simple_text(field));
        if (name == "epcClass" || name == "uom") {
          CUSTOS_RETURN_IF_ERROR(set_once(element, field, name, JsonNode::string(std::move(text))));
        } else if (name == "quantity") {
          if (text.empty()) continue;  // xsi:nil
          std::optional<std::string> number = json_number(text);
          if (!number)
            return error_at(field, "quantity is not a decimal number: '" + shown(text) + "'");
          CUSTOS_RETURN_IF_ERROR(set_once(element, field, name, JsonNode::literal(*number)));
        } else {
          return error_at(field, "unexpected element " + shown(name) + " in quantityElement");
        }
      }
      list.push(std::move(element));
    }
    return list;
  }

  Result<JsonNode> location(const xmlNode* node) {
    JsonNode place = JsonNode::object();
    JsonNode extensions = JsonNode::object();
    std::vector<const xmlNode*> pending = {node};
    while (!pending.empty()) {
      const xmlNode* current = pending.back();
      pending.pop_back();
      for (const xmlNode* child = current->children; child != nullptr; child = child->next) {
        if (!is_element(child)) continue;
        if (!is_standard(child)) {
          CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(child));
          extensions.add_repeated(extension_key(child), std::move(value));
        } else if (local_name(child) == "id") {
          CUSTOS_ASSIGN_OR_RETURN(std::string text, simple_text(child));
          CUSTOS_RETURN_IF_ERROR(set_once(place, child, "id", JsonNode::string(std::move(text))));
        } else if (local_name(child) == "extension") {
          pending.push_back(child);
        } else {
          return error_at(child, "unexpected element " + shown(local_name(child)));
        }
      }
    }
    place.take_members(extensions);
    return place;
  }

  // bizTransactionList, sourceList, destinationList: members with a type
  // attribute (a CBV URN of `kind`, shortened) and an identifier as text.
  Result<JsonNode> typed_list(const xmlNode* node, std::string_view member, std::string_view kind) {
    JsonNode list = JsonNode::array();
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      if (!is_standard(child) || local_name(child) != member) {
        return error_at(child,
                        "expected " + std::string(member) + " in " + std::string(local_name(node)));
      }
      JsonNode entry = JsonNode::object();
      JsonNode extensions = JsonNode::object();
      for (const xmlAttr* attribute = child->properties; attribute != nullptr;
           attribute = attribute->next) {
        if (attribute->ns != nullptr) {
          CUSTOS_RETURN_IF_ERROR(add_extension_attribute(extensions, attribute));
        } else if (as_view(attribute->name) == "type") {
          entry.set("type", JsonNode::string(cbv_short_name(attribute_text(attribute), kind)));
        } else {
          return error_at(child, "unexpected attribute " + shown(as_view(attribute->name)));
        }
      }
      CUSTOS_ASSIGN_OR_RETURN(std::string text, simple_text(child));
      entry.set(std::string(member), JsonNode::string(std::move(text)));
      entry.take_members(extensions);
      list.push(std::move(entry));
    }
    return list;
  }

  Result<JsonNode> persistent_disposition(const xmlNode* node) {
    JsonNode value = JsonNode::object();
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      std::string name(local_name(child));
      if (!is_standard(child) || (name != "set" && name != "unset")) {
        return error_at(child, "expected set or unset in persistentDisposition");
      }
      CUSTOS_ASSIGN_OR_RETURN(std::string text, simple_text(child));
      JsonNode* list = value.find(name);
      if (list == nullptr) list = &value.set(name, JsonNode::array());
      list->push(JsonNode::string(cbv_short_name(std::move(text), "disp")));
    }
    return value;
  }

  Result<JsonNode> error_declaration(const xmlNode* node) {
    JsonNode declaration = JsonNode::object();
    JsonNode extensions = JsonNode::object();
    std::vector<const xmlNode*> pending = {node};
    while (!pending.empty()) {
      const xmlNode* current = pending.back();
      pending.pop_back();
      for (const xmlNode* child = current->children; child != nullptr; child = child->next) {
        if (!is_element(child)) continue;
        std::string name(local_name(child));
        if (!is_standard(child)) {
          CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(child));
          extensions.add_repeated(extension_key(child), std::move(value));
        } else if (name == "declarationTime") {
          CUSTOS_ASSIGN_OR_RETURN(std::string text, simple_text(child));
          CUSTOS_RETURN_IF_ERROR(
              set_once(declaration, child, name, JsonNode::string(std::move(text))));
        } else if (name == "reason") {
          CUSTOS_ASSIGN_OR_RETURN(std::string text, simple_text(child));
          CUSTOS_RETURN_IF_ERROR(set_once(declaration, child, name,
                                          JsonNode::string(cbv_short_name(std::move(text), "er"))));
        } else if (name == "correctiveEventIDs") {
          JsonNode ids = JsonNode::array();
          CUSTOS_RETURN_IF_ERROR(text_list(ids, child, "correctiveEventID"));
          CUSTOS_RETURN_IF_ERROR(set_once(declaration, child, name, std::move(ids)));
        } else if (name == "extension") {
          pending.push_back(child);
        } else {
          return error_at(child, "unexpected element " + shown(name) + " in errorDeclaration");
        }
      }
    }
    declaration.take_members(extensions);
    return declaration;
  }

  Result<JsonNode> sensor_element_list(const xmlNode* node) {
    JsonNode list = JsonNode::array();
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (!is_element(child)) continue;
      if (is_standard(child) && local_name(child) == "extension") {
        CUSTOS_RETURN_IF_ERROR(unknown_children(child));
        continue;
      }
      if (!is_standard(child) || local_name(child) != "sensorElement") {
        return error_at(child, "expected sensorElement in sensorElementList");
      }
      JsonNode element = JsonNode::object();
      JsonNode reports = JsonNode::array();
      JsonNode extensions = JsonNode::object();
      std::vector<const xmlNode*> pending = {child};
      while (!pending.empty()) {
        const xmlNode* current = pending.back();
        pending.pop_back();
        for (const xmlNode* field = current->children; field != nullptr; field = field->next) {
          if (!is_element(field)) continue;
          std::string name(local_name(field));
          if (!is_standard(field)) {
            CUSTOS_ASSIGN_OR_RETURN(JsonNode value, extension_value(field));
            extensions.add_repeated(extension_key(field), std::move(value));
          } else if (name == "sensorMetadata") {
            CUSTOS_ASSIGN_OR_RETURN(JsonNode metadata, sensor_attributes(field));
            CUSTOS_RETURN_IF_ERROR(set_once(element, field, name, std::move(metadata)));
          } else if (name == "sensorReport") {
            CUSTOS_ASSIGN_OR_RETURN(JsonNode report, sensor_attributes(field));
            reports.push(std::move(report));
          } else if (name == "extension") {
            pending.push_back(field);
          } else {
            return error_at(field, "unexpected element " + shown(name) + " in sensorElement");
          }
        }
      }
      if (!reports.empty()) element.set("sensorReport", std::move(reports));
      element.take_members(extensions);
      list.push(std::move(element));
    }
    return list;
  }

  // sensorMetadata / sensorReport: attributes typed as in the XSD (doubles as
  // JSON numbers, booleanValue as a boolean, the rest strings).
  Result<JsonNode> sensor_attributes(const xmlNode* node) {
    static const std::set<std::string_view> kNumbers = {
        "value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"};
    JsonNode object = JsonNode::object();
    JsonNode extensions = JsonNode::object();
    for (const xmlAttr* attribute = node->properties; attribute != nullptr;
         attribute = attribute->next) {
      if (attribute->ns != nullptr) {
        CUSTOS_RETURN_IF_ERROR(add_extension_attribute(extensions, attribute));
        continue;
      }
      std::string name(as_view(attribute->name));
      std::string text = attribute_text(attribute);
      if (kNumbers.contains(name)) {
        std::optional<std::string> number = json_number(text);
        if (!number) {
          return error_at(
              node, "attribute " + shown(name) + " is not a finite number: '" + shown(text) + "'");
        }
        object.set(std::move(name), JsonNode::literal(*number));
      } else if (name == "booleanValue") {
        if (text == "true" || text == "1") {
          object.set(std::move(name), JsonNode::literal("true"));
        } else if (text == "false" || text == "0") {
          object.set(std::move(name), JsonNode::literal("false"));
        } else {
          return error_at(node, "attribute booleanValue is not a boolean: '" + shown(text) + "'");
        }
      } else {
        object.set(std::move(name), JsonNode::string(std::move(text)));
      }
    }
    CUSTOS_ASSIGN_OR_RETURN(std::string content, simple_text(node));
    if (!content.empty()) {
      return error_at(node, std::string(local_name(node)) +
                                " has text content; its data goes "
                                "in attributes");
    }
    object.take_members(extensions);
    return object;
  }

  NamespaceTable namespaces_;
};

// ---- parsing ----

// What the parser callbacks saw; the first error wins.
struct ParseState {
  bool failed = false;
  std::string message;
  long line = 0;
  std::string path;
};

ParseState* state_of(void* context) {
  auto* parser = static_cast<xmlParserCtxtPtr>(context);
  return parser == nullptr ? nullptr : static_cast<ParseState*>(parser->_private);
}

void record_error(void* context, xmlErrorPtr error) {
  ParseState* state = state_of(context);
  if (state == nullptr || state->failed || error == nullptr || error->level < XML_ERR_ERROR) {
    return;
  }
  auto* parser = static_cast<xmlParserCtxtPtr>(context);
  state->failed = true;
  state->message = error->message == nullptr ? "malformed XML" : shown(trim(error->message));
  state->line = error->line;
  state->path = node_path(parser->node);
}

// Any entity declaration stops the parse: EPCIS documents need none, and
// refusing them outright rules out external entities (XXE) and expansion
// bombs whatever libxml2's own limits are.
void refuse_entity_declaration(void* context, const xmlChar* name, int, const xmlChar*,
                               const xmlChar*, xmlChar*) {
  ParseState* state = state_of(context);
  auto* parser = static_cast<xmlParserCtxtPtr>(context);
  if (state != nullptr && !state->failed) {
    state->failed = true;
    state->message = "the document declares the entity '";
    state->message += shown(as_view(name));
    state->message += "'; DTD entity declarations are refused";
    state->line = parser->input == nullptr ? 0 : parser->input->line;
    state->path = "/";
  }
  xmlStopParser(parser);
}

struct DocumentDeleter {
  void operator()(xmlDoc* document) const { xmlFreeDoc(document); }
};
struct ParserDeleter {
  void operator()(xmlParserCtxt* parser) const { xmlFreeParserCtxt(parser); }
};

// Element depth within the limit, and no entity references left in the tree
// (from an external subset that was not loaded).
Status check_tree(const xmlNode* root, size_t max_depth) {
  std::vector<std::pair<const xmlNode*, size_t>> pending = {{root, 1}};
  while (!pending.empty()) {
    auto [node, depth] = pending.back();
    pending.pop_back();
    if (depth > max_depth) {
      return error_at(node, "elements nested deeper than " + std::to_string(max_depth));
    }
    for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
      if (child->type == XML_ENTITY_REF_NODE) {
        return error_at(node,
                        "entity reference &" + std::string(as_view(child->name)) + "; is refused");
      }
      if (is_element(child)) pending.emplace_back(child, depth + 1);
    }
  }
  return Status::ok();
}

}  // namespace

Result<std::string> xml_document_to_json(std::string_view xml, const XmlBindingLimits& limits) {
  if (xml.size() > limits.max_document_bytes || xml.size() > static_cast<size_t>(INT_MAX)) {
    return resource_exhausted("EPCIS XML document of " + std::to_string(xml.size()) +
                              " bytes is over the limit of " +
                              std::to_string(limits.max_document_bytes));
  }
  static std::once_flag initialised;
  std::call_once(initialised, [] { xmlInitParser(); });

  std::unique_ptr<xmlParserCtxt, ParserDeleter> parser(xmlNewParserCtxt());
  if (parser == nullptr) return resource_exhausted("out of memory for the XML parser");
  ParseState state;
  parser->_private = &state;
  parser->sax->serror = record_error;
  parser->sax->entityDecl = refuse_entity_declaration;
  // No network, no DTD loading, no entity substitution (XML_PARSE_NOENT is
  // deliberately absent), libxml2's default size and depth limits
  // (XML_PARSE_HUGE absent), errors to `state` rather than stderr.
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                      XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES;
  std::unique_ptr<xmlDoc, DocumentDeleter> document(xmlCtxtReadMemory(
      parser.get(), xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, options));
  if (state.failed || document == nullptr || !parser->wellFormed) {
    std::string message = "not a well-formed XML document";
    if (state.failed) {
      message = state.path;
      message += " (line ";
      message += std::to_string(state.line);
      message += "): ";
      message += state.message;
    }
    return invalid_argument(std::move(message));
  }
  const xmlNode* root = xmlDocGetRootElement(document.get());
  if (root == nullptr) return invalid_argument("the XML document has no root element");
  CUSTOS_RETURN_IF_ERROR(check_tree(root, limits.max_depth));
  Converter converter(root);
  return converter.document(root);
}

}  // namespace custos::epcis
