#include "custos/policy/parser.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ast.h"

namespace custos::policy {

namespace internal {
bool Pattern::matches(std::string_view text) const {
  // runs.size() == 1: no wildcard, exact match.
  if (runs.size() == 1) return text == runs[0];
  const std::string& first = runs.front();
  const std::string& last = runs.back();
  if (text.size() < first.size() + last.size()) return false;
  if (text.substr(0, first.size()) != first) return false;
  if (text.substr(text.size() - last.size()) != last) return false;
  // Middle runs, greedily leftmost: correct for `*`-only globs.
  size_t pos = first.size();
  size_t end = text.size() - last.size();
  for (size_t i = 1; i + 1 < runs.size(); ++i) {
    const std::string& run = runs[i];
    if (run.empty()) continue;
    size_t found = text.substr(0, end).find(run, pos);
    if (found == std::string_view::npos) return false;
    pos = found + run.size();
  }
  return true;
}
}  // namespace internal

struct PolicySetBuilder {
  static PolicySet make(std::unique_ptr<internal::CompiledPolicySet> compiled) {
    PolicySet set;
    set.compiled_ = std::move(compiled);
    return set;
  }
};

PolicySet::PolicySet() : compiled_(std::make_unique<internal::CompiledPolicySet>()) {}
PolicySet::~PolicySet() = default;
PolicySet::PolicySet(PolicySet&&) noexcept = default;
PolicySet& PolicySet::operator=(PolicySet&&) noexcept = default;
size_t PolicySet::size() const { return compiled_->policies.size(); }
const std::string& PolicySet::id(size_t index) const { return compiled_->policies[index].id; }
Effect PolicySet::effect(size_t index) const { return compiled_->policies[index].effect; }
const std::map<std::string, std::string>& PolicySet::annotations(size_t index) const {
  return compiled_->policies[index].annotations;
}

namespace {

using internal::Expr;
using internal::Method;
using internal::Op;
using internal::ScopeConstraint;
using internal::Var;

enum class Tok : uint8_t {
  kEnd,
  kIdent,
  kString,
  kNumber,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kLBrace,
  kRBrace,
  kComma,
  kSemicolon,
  kDot,
  kColonColon,
  kColon,
  kAt,
  kEqEq,
  kNotEq,
  kLt,
  kLe,
  kGt,
  kGe,
  kAndAnd,
  kOrOr,
  kBang,
  kMinus,
  kPlus,
  kStar,
  kQuestion,
  kInvalid,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;  // identifier, raw string body (without quotes), number digits
  int line = 1;
  int column = 1;
};

struct ParseFailure {
  int line;
  int column;
  std::string message;
};

class Lexer {
 public:
  explicit Lexer(std::string_view source) : source_(source) {}

  // Tokenizes everything; an unterminated string or stray character is
  // returned as a failure.
  bool run(std::vector<Token>& tokens, ParseFailure& failure) {
    while (true) {
      skip_space();
      Token token;
      token.line = line_;
      token.column = column_;
      if (pos_ >= source_.size()) {
        token.kind = Tok::kEnd;
        tokens.push_back(token);
        return true;
      }
      char c = source_[pos_];
      size_t start = pos_;
      if (is_ident_start(c)) {
        while (pos_ < source_.size() && is_ident_char(source_[pos_])) advance();
        token.kind = Tok::kIdent;
        token.text = source_.substr(start, pos_ - start);
      } else if (c >= '0' && c <= '9') {
        while (pos_ < source_.size() && source_[pos_] >= '0' && source_[pos_] <= '9') advance();
        token.kind = Tok::kNumber;
        token.text = source_.substr(start, pos_ - start);
      } else if (c == '"') {
        advance();
        size_t body = pos_;
        while (true) {
          if (pos_ >= source_.size()) {
            failure = {token.line, token.column, "unterminated string literal"};
            return false;
          }
          char d = source_[pos_];
          if (d == '\\') {
            advance();
            if (pos_ < source_.size()) advance();
            continue;
          }
          if (d == '"') break;
          advance();
        }
        token.kind = Tok::kString;
        token.text = source_.substr(body, pos_ - body);
        advance();
      } else {
        token.kind = punctuation();
        if (token.kind == Tok::kInvalid) {
          failure = {token.line, token.column,
                     "unexpected character `" + std::string(1, c) + "`"};
          return false;
        }
      }
      tokens.push_back(token);
    }
  }

 private:
  static bool is_ident_start(char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
  static bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

  void advance() {
    if (source_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++pos_;
  }

  void skip_space() {
    while (pos_ < source_.size()) {
      char c = source_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        advance();
      } else if (c == '/' && pos_ + 1 < source_.size() && source_[pos_ + 1] == '/') {
        while (pos_ < source_.size() && source_[pos_] != '\n') advance();
      } else {
        return;
      }
    }
  }

  Tok punctuation() {
    char c = source_[pos_];
    char n = pos_ + 1 < source_.size() ? source_[pos_ + 1] : '\0';
    auto two = [&](Tok kind) {
      advance();
      advance();
      return kind;
    };
    auto one = [&](Tok kind) {
      advance();
      return kind;
    };
    switch (c) {
      case '(': return one(Tok::kLParen);
      case ')': return one(Tok::kRParen);
      case '[': return one(Tok::kLBracket);
      case ']': return one(Tok::kRBracket);
      case '{': return one(Tok::kLBrace);
      case '}': return one(Tok::kRBrace);
      case ',': return one(Tok::kComma);
      case ';': return one(Tok::kSemicolon);
      case '.': return one(Tok::kDot);
      case '@': return one(Tok::kAt);
      case '+': return one(Tok::kPlus);
      case '-': return one(Tok::kMinus);
      case '*': return one(Tok::kStar);
      case '?': return one(Tok::kQuestion);
      case ':': return n == ':' ? two(Tok::kColonColon) : one(Tok::kColon);
      case '=': return n == '=' ? two(Tok::kEqEq) : Tok::kInvalid;
      case '!': return n == '=' ? two(Tok::kNotEq) : one(Tok::kBang);
      case '<': return n == '=' ? two(Tok::kLe) : one(Tok::kLt);
      case '>': return n == '=' ? two(Tok::kGe) : one(Tok::kGt);
      case '&': return n == '&' ? two(Tok::kAndAnd) : Tok::kInvalid;
      case '|': return n == '|' ? two(Tok::kOrOr) : Tok::kInvalid;
      default: return Tok::kInvalid;
    }
  }

  std::string_view source_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const std::set<std::string_view>& reserved_words() {
  static const std::set<std::string_view> words = {"true", "false", "if",   "then", "else",
                                                   "in",   "is",    "like", "has",  "__cedar"};
  return words;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, internal::SourceRefs* refs)
      : tokens_(std::move(tokens)), refs_(refs) {}

  bool parse_set(internal::CompiledPolicySet& set) {
    std::set<std::string> ids;
    while (peek().kind != Tok::kEnd) {
      internal::CompiledPolicy policy;
      Token first = peek();
      policy_index_ = static_cast<uint32_t>(set.policies.size());
      if (!parse_policy(policy)) return false;
      auto id = policy.annotations.find("id");
      policy.id = id != policy.annotations.end() ? id->second
                                                 : "policy" + std::to_string(set.policies.size());
      if (!ids.insert(policy.id).second) {
        return fail(first, "duplicate policy id `" + policy.id + "`");
      }
      set.policies.push_back(std::move(policy));
    }
    return true;
  }

  const ParseFailure& failure() const { return failure_; }

 private:
  const Token& peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  Token next() {
    Token token = peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return token;
  }
  bool at(Tok kind) const { return peek().kind == kind; }
  bool at_ident(std::string_view word) const {
    return peek().kind == Tok::kIdent && peek().text == word;
  }

  bool fail(const Token& token, std::string message) {
    if (!failed_) {
      failed_ = true;
      failure_ = {token.line, token.column, std::move(message)};
    }
    return false;
  }

  // Source references for the schema validator (only when refs_ is set);
  // kept out of line so the ordinary parse's hot path does not grow.
  [[gnu::cold, gnu::noinline]] void record_entity(internal::RefSite site, const Token& at,
                                                  const std::string& type, const std::string* id) {
    internal::EntityRef ref;
    ref.policy = policy_index_;
    ref.site = site;
    ref.type = type;
    if (id != nullptr) {
      ref.has_id = true;
      ref.id = *id;
    }
    ref.pos = {at.line, at.column};
    refs_->entities.push_back(std::move(ref));
  }
  [[gnu::cold, gnu::noinline]] void record_attribute(const Expr& object, bool has_test,
                                                     const Token& at, const std::string& name) {
    if (object.op != Op::kVar || object.var == Var::kAction) return;
    refs_->attributes.push_back(
        {policy_index_, object.var, has_test, name, internal::SourcePos{at.line, at.column}});
  }

  static std::string describe(const Token& token) {
    switch (token.kind) {
      case Tok::kEnd: return "end of input";
      case Tok::kIdent: return "`" + std::string(token.text) + "`";
      case Tok::kString: return "string literal";
      case Tok::kNumber: return "`" + std::string(token.text) + "`";
      default: return "token";
    }
  }
  bool expect(Tok kind, std::string_view what) {
    if (at(kind)) {
      next();
      return true;
    }
    return fail(peek(), "expected " + std::string(what) + ", found " + describe(peek()));
  }
  bool expect_word(std::string_view word) {
    if (at_ident(word)) {
      next();
      return true;
    }
    return fail(peek(), "expected `" + std::string(word) + "`, found " + describe(peek()));
  }

  // Decodes a string body. In a pattern, `\*` yields a literal star (marked
  // by `literal_star`) and a bare `*` is a wildcard.
  bool unescape(const Token& token, bool pattern, std::string& out,
                std::vector<bool>* wildcard_at) {
    std::string_view raw = token.text;
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c != '\\') {
        if (pattern && c == '*') {
          wildcard_at->resize(out.size() + 1, false);
          wildcard_at->back() = true;
          out += '*';
          continue;
        }
        out += c;
        continue;
      }
      if (++i >= raw.size()) return fail(token, "invalid escape at end of string");
      char e = raw[i];
      switch (e) {
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case '0': out += '\0'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '*':
          if (!pattern) return fail(token, "invalid escape `\\*` outside a `like` pattern");
          out += '*';
          break;
        case 'x': {
          int hi = i + 1 < raw.size() ? hex_value(raw[i + 1]) : -1;
          int lo = i + 2 < raw.size() ? hex_value(raw[i + 2]) : -1;
          if (hi < 0 || lo < 0 || hi > 7) return fail(token, "invalid \\x escape");
          out += static_cast<char>(hi * 16 + lo);
          i += 2;
          break;
        }
        case 'u': {
          if (i + 1 >= raw.size() || raw[i + 1] != '{') return fail(token, "invalid \\u escape");
          size_t close = raw.find('}', i + 2);
          if (close == std::string_view::npos || close == i + 2 || close - (i + 2) > 6) {
            return fail(token, "invalid \\u escape");
          }
          uint32_t cp = 0;
          for (size_t k = i + 2; k < close; ++k) {
            int h = hex_value(raw[k]);
            if (h < 0) return fail(token, "invalid \\u escape");
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return fail(token, "invalid unicode scalar in \\u escape");
          }
          append_utf8(out, cp);
          i = close;
          break;
        }
        default: return fail(token, "invalid escape `\\" + std::string(1, e) + "`");
      }
    }
    return true;
  }

  bool parse_string(std::string& out) {
    Token token = peek();
    if (token.kind != Tok::kString) {
      return fail(token, "expected a string literal, found " + describe(token));
    }
    next();
    return unescape(token, false, out, nullptr);
  }

  bool parse_ident(std::string& out, bool allow_reserved = false) {
    Token token = peek();
    if (token.kind != Tok::kIdent) {
      return fail(token, "expected an identifier, found " + describe(token));
    }
    if (!allow_reserved && reserved_words().contains(token.text)) {
      return fail(token, "`" + std::string(token.text) + "` is a reserved word");
    }
    next();
    out = std::string(token.text);
    return true;
  }

  // Path ::= IDENT {'::' IDENT}; stops before `::` STRING.
  bool parse_path(std::string& out) {
    if (!parse_ident(out)) return false;
    while (at(Tok::kColonColon) && peek(1).kind == Tok::kIdent) {
      next();
      std::string segment;
      if (!parse_ident(segment)) return false;
      out += "::";
      out += segment;
    }
    return true;
  }

  bool parse_entity_uid(EntityUid& uid) {
    if (!parse_path(uid.type)) return false;
    if (!expect(Tok::kColonColon, "`::` and an entity id")) return false;
    return parse_string(uid.id);
  }

  bool parse_policy(internal::CompiledPolicy& policy) {
    while (at(Tok::kAt)) {
      Token at_token = next();
      std::string key;
      if (!parse_ident(key, true)) return false;
      std::string value;
      if (at(Tok::kLParen)) {
        next();
        if (!parse_string(value)) return false;
        if (!expect(Tok::kRParen, "`)`")) return false;
      }
      if (!policy.annotations.emplace(key, value).second) {
        return fail(at_token, "duplicate annotation `@" + key + "`");
      }
    }
    if (at_ident("permit")) {
      policy.effect = Effect::kPermit;
    } else if (at_ident("forbid")) {
      policy.effect = Effect::kForbid;
    } else {
      return fail(peek(), "expected `permit` or `forbid`, found " + describe(peek()));
    }
    next();
    if (!expect(Tok::kLParen, "`(`")) return false;
    if (!parse_scope("principal", policy.principal)) return false;
    if (!expect(Tok::kComma, "`,`")) return false;
    if (!parse_scope("action", policy.action)) return false;
    if (!expect(Tok::kComma, "`,`")) return false;
    if (!parse_scope("resource", policy.resource)) return false;
    if (!expect(Tok::kRParen, "`)`")) return false;
    while (at_ident("when") || at_ident("unless")) {
      internal::Condition condition;
      condition.is_when = next().text == "when";
      if (!expect(Tok::kLBrace, "`{`")) return false;
      if (at(Tok::kRBrace)) return fail(peek(), "empty condition body");
      condition.expr = parse_expr();
      if (!condition.expr) return false;
      if (!expect(Tok::kRBrace, "`}`")) return false;
      policy.conditions.push_back(std::move(condition));
    }
    return expect(Tok::kSemicolon, "`;`");
  }

  bool parse_scope(std::string_view variable, ScopeConstraint& scope) {
    if (!expect_word(variable)) return false;
    bool is_action = variable == "action";
    scope_site_ = is_action                 ? internal::RefSite::kActionScope
                  : variable == "principal" ? internal::RefSite::kPrincipalScope
                                            : internal::RefSite::kResourceScope;
    if (at(Tok::kQuestion)) return fail(peek(), "policy templates (slots) are not supported");
    if (at(Tok::kEqEq)) {
      next();
      scope.kind = ScopeConstraint::Kind::kEq;
      return parse_scope_entity(scope.uid);
    }
    if (at_ident("is")) {
      if (is_action) return fail(peek(), "`is` is not allowed in the action scope");
      next();
      Token type_token = peek();
      if (!parse_path(scope.type)) return false;
      if (refs_ != nullptr) record_entity(scope_site_, type_token, scope.type, nullptr);
      scope.kind = ScopeConstraint::Kind::kIs;
      if (at_ident("in")) {
        next();
        scope.kind = ScopeConstraint::Kind::kIsIn;
        return parse_scope_entity(scope.uid);
      }
      return true;
    }
    if (at_ident("in")) {
      next();
      if (at(Tok::kLBracket)) {
        if (!is_action) return fail(peek(), "a set of entities is only allowed in the action scope");
        next();
        scope.kind = ScopeConstraint::Kind::kInAny;
        while (!at(Tok::kRBracket)) {
          EntityUid uid;
          if (!parse_scope_entity(uid)) return false;
          scope.uids.push_back(std::move(uid));
          if (!at(Tok::kComma)) break;
          next();
        }
        return expect(Tok::kRBracket, "`]`");
      }
      scope.kind = ScopeConstraint::Kind::kIn;
      return parse_scope_entity(scope.uid);
    }
    return true;
  }

  bool parse_scope_entity(EntityUid& uid) {
    if (at(Tok::kQuestion)) return fail(peek(), "policy templates (slots) are not supported");
    if (!at(Tok::kIdent)) return fail(peek(), "expected an entity uid, found " + describe(peek()));
    Token type_token = peek();
    if (!parse_entity_uid(uid)) return false;
    if (refs_ != nullptr) record_entity(scope_site_, type_token, uid.type, &uid.id);
    return true;
  }

  using ExprPtr = std::unique_ptr<Expr>;

  static ExprPtr node(Op op) {
    auto expr = std::make_unique<Expr>();
    expr->op = op;
    return expr;
  }
  static ExprPtr binary(Op op, ExprPtr lhs, ExprPtr rhs) {
    auto expr = node(op);
    expr->kids.push_back(std::move(lhs));
    expr->kids.push_back(std::move(rhs));
    return expr;
  }

  ExprPtr parse_expr() {
    if (++depth_ > kMaxDepth) {
      fail(peek(), "expression nested too deeply");
      return nullptr;
    }
    ExprPtr result;
    if (at_ident("if")) {
      next();
      ExprPtr cond = parse_expr();
      if (!cond || !expect_word("then")) return nullptr;
      ExprPtr then_branch = parse_expr();
      if (!then_branch || !expect_word("else")) return nullptr;
      ExprPtr else_branch = parse_expr();
      if (!else_branch) return nullptr;
      result = node(Op::kIf);
      result->kids.push_back(std::move(cond));
      result->kids.push_back(std::move(then_branch));
      result->kids.push_back(std::move(else_branch));
    } else {
      result = parse_or();
    }
    --depth_;
    return result;
  }

  ExprPtr parse_or() {
    ExprPtr lhs = parse_and();
    while (lhs && at(Tok::kOrOr)) {
      next();
      ExprPtr rhs = parse_and();
      if (!rhs) return nullptr;
      lhs = binary(Op::kOr, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  ExprPtr parse_and() {
    ExprPtr lhs = parse_relation();
    while (lhs && at(Tok::kAndAnd)) {
      next();
      ExprPtr rhs = parse_relation();
      if (!rhs) return nullptr;
      lhs = binary(Op::kAnd, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  bool at_relation() const {
    switch (peek().kind) {
      case Tok::kEqEq:
      case Tok::kNotEq:
      case Tok::kLt:
      case Tok::kLe:
      case Tok::kGt:
      case Tok::kGe: return true;
      case Tok::kIdent:
        return peek().text == "in" || peek().text == "has" || peek().text == "like" ||
               peek().text == "is";
      default: return false;
    }
  }

  ExprPtr parse_relation() {
    ExprPtr lhs = parse_add();
    if (!lhs || !at_relation()) return lhs;
    Token op = next();
    ExprPtr result;
    switch (op.kind) {
      case Tok::kEqEq:
      case Tok::kNotEq:
      case Tok::kLt:
      case Tok::kLe:
      case Tok::kGt:
      case Tok::kGe: {
        ExprPtr rhs = parse_add();
        if (!rhs) return nullptr;
        Op kind = op.kind == Tok::kEqEq    ? Op::kEq
                  : op.kind == Tok::kNotEq ? Op::kNe
                  : op.kind == Tok::kLt    ? Op::kLt
                  : op.kind == Tok::kLe    ? Op::kLe
                  : op.kind == Tok::kGt    ? Op::kGt
                                           : Op::kGe;
        result = binary(kind, std::move(lhs), std::move(rhs));
        break;
      }
      default:
        if (op.text == "in") {
          ExprPtr rhs = parse_add();
          if (!rhs) return nullptr;
          result = binary(Op::kIn, std::move(lhs), std::move(rhs));
        } else if (op.text == "has") {
          result = node(Op::kHas);
          result->kids.push_back(std::move(lhs));
          std::string attribute;
          Token attribute_token = peek();
          if (at(Tok::kString)) {
            if (!parse_string(attribute)) return nullptr;
            result->path.push_back(std::move(attribute));
          } else {
            if (!parse_ident(attribute)) return nullptr;
            result->path.push_back(std::move(attribute));
            while (at(Tok::kDot)) {
              next();
              if (!parse_ident(attribute)) return nullptr;
              result->path.push_back(std::move(attribute));
            }
          }
          if (refs_ != nullptr) {
            record_attribute(*result->kids[0], true, attribute_token, result->path[0]);
          }
        } else if (op.text == "like") {
          Token pattern_token = peek();
          if (pattern_token.kind != Tok::kString) {
            fail(pattern_token, "expected a pattern string after `like`");
            return nullptr;
          }
          next();
          std::string text;
          std::vector<bool> wildcard_at;
          if (!unescape(pattern_token, true, text, &wildcard_at)) return nullptr;
          wildcard_at.resize(text.size(), false);
          result = node(Op::kLike);
          result->kids.push_back(std::move(lhs));
          result->pattern.runs.emplace_back();
          for (size_t i = 0; i < text.size(); ++i) {
            if (wildcard_at[i]) {
              result->pattern.runs.emplace_back();
            } else {
              result->pattern.runs.back() += text[i];
            }
          }
        } else {  // is
          result = node(Op::kIs);
          result->kids.push_back(std::move(lhs));
          Token type_token = peek();
          if (!parse_path(result->name)) return nullptr;
          if (refs_ != nullptr) {
            record_entity(internal::RefSite::kCondition, type_token, result->name, nullptr);
          }
          if (at_ident("in")) {
            next();
            ExprPtr target = parse_add();
            if (!target) return nullptr;
            result->kids.push_back(std::move(target));
          }
        }
    }
    if (at_relation()) {
      fail(peek(), "multiple relational operators must be parenthesized");
      return nullptr;
    }
    return result;
  }

  ExprPtr parse_add() {
    ExprPtr lhs = parse_mul();
    while (lhs && (at(Tok::kPlus) || at(Tok::kMinus))) {
      Op op = next().kind == Tok::kPlus ? Op::kAdd : Op::kSub;
      ExprPtr rhs = parse_mul();
      if (!rhs) return nullptr;
      lhs = binary(op, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  ExprPtr parse_mul() {
    ExprPtr lhs = parse_unary();
    while (lhs && at(Tok::kStar)) {
      next();
      ExprPtr rhs = parse_unary();
      if (!rhs) return nullptr;
      lhs = binary(Op::kMul, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  ExprPtr parse_unary() {
    if (!at(Tok::kBang) && !at(Tok::kMinus)) return parse_member();
    Token first = peek();
    Tok kind = first.kind;
    int count = 0;
    while (at(kind)) {
      next();
      ++count;
    }
    if (at(Tok::kBang) || at(Tok::kMinus)) {
      fail(peek(), "`!` and `-` cannot be mixed without parentheses");
      return nullptr;
    }
    if (count > 4) {
      fail(first, "too many unary operators in a row (at most 4)");
      return nullptr;
    }
    Op op = kind == Tok::kBang ? Op::kNot : Op::kNeg;
    ExprPtr operand;
    // `-` directly on a number literal folds into a negative literal, so
    // -9223372036854775808 is representable.
    if (op == Op::kNeg && at(Tok::kNumber) && !at_member_suffix(1)) {
      Token number = next();
      uint64_t magnitude = 0;
      if (!parse_u64(number.text, magnitude) || magnitude > (uint64_t{1} << 63)) {
        fail(number, "integer literal too large");
        return nullptr;
      }
      operand = node(Op::kLiteral);
      operand->literal = Value::long_value(magnitude == (uint64_t{1} << 63)
                                               ? INT64_MIN
                                               : -static_cast<int64_t>(magnitude));
      --count;
    } else {
      operand = parse_member();
      if (!operand) return nullptr;
    }
    for (int i = 0; i < count; ++i) {
      auto wrapped = node(op);
      wrapped->kids.push_back(std::move(operand));
      operand = std::move(wrapped);
    }
    return operand;
  }

  bool at_member_suffix(size_t ahead) const {
    Tok kind = peek(ahead).kind;
    return kind == Tok::kDot || kind == Tok::kLBracket;
  }

  static bool parse_u64(std::string_view digits, uint64_t& out) {
    out = 0;
    for (char c : digits) {
      if (__builtin_mul_overflow(out, uint64_t{10}, &out) ||
          __builtin_add_overflow(out, static_cast<uint64_t>(c - '0'), &out)) {
        return false;
      }
    }
    return true;
  }

  ExprPtr parse_member() {
    ExprPtr expr = parse_primary();
    while (expr) {
      if (at(Tok::kDot)) {
        next();
        Token name_token = peek();
        std::string name;
        if (!parse_ident(name)) return nullptr;
        if (at(Tok::kLParen)) {
          next();
          auto call = node(Op::kMethod);
          call->kids.push_back(std::move(expr));
          if (!parse_expr_list(Tok::kRParen, call->kids)) return nullptr;
          if (!resolve_method(name_token, name, *call)) return nullptr;
          expr = std::move(call);
        } else {
          if (refs_ != nullptr) record_attribute(*expr, false, name_token, name);
          auto get = node(Op::kGetAttr);
          get->kids.push_back(std::move(expr));
          get->name = std::move(name);
          expr = std::move(get);
        }
      } else if (at(Tok::kLBracket)) {
        next();
        Token name_token = peek();
        auto get = node(Op::kGetAttr);
        get->kids.push_back(std::move(expr));
        if (!parse_string(get->name) || !expect(Tok::kRBracket, "`]`")) return nullptr;
        if (refs_ != nullptr) record_attribute(*get->kids[0], false, name_token, get->name);
        expr = std::move(get);
      } else {
        break;
      }
    }
    return expr;
  }

  bool resolve_method(const Token& token, std::string_view name, Expr& call) {
    struct Entry {
      std::string_view name;
      Method method;
      size_t args;
    };
    static constexpr Entry kMethods[] = {
        {"contains", Method::kContains, 1},
        {"containsAll", Method::kContainsAll, 1},
        {"containsAny", Method::kContainsAny, 1},
        {"isEmpty", Method::kIsEmpty, 0},
        {"isIpv4", Method::kIsIpv4, 0},
        {"isIpv6", Method::kIsIpv6, 0},
        {"isLoopback", Method::kIsLoopback, 0},
        {"isMulticast", Method::kIsMulticast, 0},
        {"isInRange", Method::kIsInRange, 1},
        {"lessThan", Method::kLessThan, 1},
        {"lessThanOrEqual", Method::kLessThanOrEqual, 1},
        {"greaterThan", Method::kGreaterThan, 1},
        {"greaterThanOrEqual", Method::kGreaterThanOrEqual, 1},
    };
    for (const Entry& entry : kMethods) {
      if (entry.name != name) continue;
      if (call.kids.size() - 1 != entry.args) {
        return fail(token, "method `" + std::string(name) + "` takes " +
                               std::to_string(entry.args) + " argument(s)");
      }
      call.method = entry.method;
      return true;
    }
    return fail(token, "unknown method `" + std::string(name) + "`");
  }

  // Parses `expr, expr, ...` up to and including `close`.
  bool parse_expr_list(Tok close, std::vector<ExprPtr>& out) {
    if (at(close)) {
      next();
      return true;
    }
    while (true) {
      ExprPtr item = parse_expr();
      if (!item) return false;
      out.push_back(std::move(item));
      if (at(Tok::kComma)) {
        next();
        continue;
      }
      return expect(close, close == Tok::kRParen ? "`)` or `,`" : "`]` or `,`");
    }
  }

  ExprPtr parse_primary() {
    Token token = peek();
    switch (token.kind) {
      case Tok::kNumber: {
        next();
        uint64_t magnitude = 0;
        if (!parse_u64(token.text, magnitude) || magnitude > uint64_t{INT64_MAX}) {
          fail(token, "integer literal too large");
          return nullptr;
        }
        auto literal = node(Op::kLiteral);
        literal->literal = Value::long_value(static_cast<int64_t>(magnitude));
        return literal;
      }
      case Tok::kString: {
        std::string text;
        if (!parse_string(text)) return nullptr;
        auto literal = node(Op::kLiteral);
        literal->literal = Value::string(std::move(text));
        return literal;
      }
      case Tok::kLParen: {
        next();
        ExprPtr inner = parse_expr();
        if (!inner || !expect(Tok::kRParen, "`)`")) return nullptr;
        return inner;
      }
      case Tok::kLBracket: {
        next();
        auto set = node(Op::kSet);
        if (!parse_expr_list(Tok::kRBracket, set->kids)) return nullptr;
        return fold_constant(std::move(set));
      }
      case Tok::kLBrace: return parse_record();
      case Tok::kIdent: break;
      default:
        fail(token, "unexpected " + describe(token) + " in expression");
        return nullptr;
    }
    std::string_view word = token.text;
    if (word == "true" || word == "false") {
      next();
      auto literal = node(Op::kLiteral);
      literal->literal = Value::boolean(word == "true");
      return literal;
    }
    static constexpr std::pair<std::string_view, Var> kVars[] = {{"principal", Var::kPrincipal},
                                                                 {"action", Var::kAction},
                                                                 {"resource", Var::kResource},
                                                                 {"context", Var::kContext}};
    for (auto [name, var] : kVars) {
      if (word == name && peek(1).kind != Tok::kColonColon) {
        next();
        auto expr = node(Op::kVar);
        expr->var = var;
        return expr;
      }
    }
    std::string path;
    if (!parse_path(path)) return nullptr;
    if (at(Tok::kColonColon)) {
      next();
      std::string id;
      if (!parse_string(id)) return nullptr;
      if (refs_ != nullptr) record_entity(internal::RefSite::kCondition, token, path, &id);
      auto literal = node(Op::kLiteral);
      literal->literal = Value::entity(EntityUid{std::move(path), std::move(id)});
      return literal;
    }
    if (at(Tok::kLParen)) {
      next();
      Op op;
      if (path == "ip") {
        op = Op::kIpCall;
      } else if (path == "decimal") {
        op = Op::kDecimalCall;
      } else {
        fail(token, "unknown extension function `" + path + "`");
        return nullptr;
      }
      auto call = node(op);
      if (!parse_expr_list(Tok::kRParen, call->kids)) return nullptr;
      if (call->kids.size() != 1) {
        fail(token, "`" + path + "` takes exactly one argument");
        return nullptr;
      }
      return fold_constant(std::move(call));
    }
    fail(token, "unexpected identifier `" + path + "`");
    return nullptr;
  }

  ExprPtr parse_record() {
    next();  // {
    auto record = node(Op::kRecord);
    std::set<std::string> seen;
    while (!at(Tok::kRBrace)) {
      Token key_token = peek();
      std::string key;
      if (key_token.kind == Tok::kString) {
        if (!parse_string(key)) return nullptr;
      } else if (!parse_ident(key, true)) {
        return nullptr;
      }
      if (!seen.insert(key).second) {
        fail(key_token, "duplicate key `" + key + "` in record literal");
        return nullptr;
      }
      if (!expect(Tok::kColon, "`:`")) return nullptr;
      ExprPtr value = parse_expr();
      if (!value) return nullptr;
      record->keys.push_back(std::move(key));
      record->kids.push_back(std::move(value));
      if (!at(Tok::kComma)) break;
      next();
    }
    if (!expect(Tok::kRBrace, "`}` or `,`")) return nullptr;
    return fold_constant(std::move(record));
  }

  // Literal sets, records and extension calls on valid literal strings are
  // evaluated once here. Anything that could fail stays for run time, where
  // a failure is a per-policy evaluation error as in Cedar.
  static ExprPtr fold_constant(ExprPtr expr) {
    for (const auto& kid : expr->kids) {
      if (kid->op != Op::kLiteral) return expr;
    }
    auto literal = node(Op::kLiteral);
    switch (expr->op) {
      case Op::kSet: {
        std::vector<Value> elements;
        for (auto& kid : expr->kids) elements.push_back(kid->literal);
        literal->literal = Value::set(std::move(elements));
        return literal;
      }
      case Op::kRecord: {
        RecordFields fields;
        for (size_t i = 0; i < expr->kids.size(); ++i) {
          fields.emplace_back(expr->keys[i], expr->kids[i]->literal);
        }
        literal->literal = Value::record(std::move(fields));
        return literal;
      }
      case Op::kIpCall:
      case Op::kDecimalCall: {
        const Value& arg = expr->kids[0]->literal;
        if (!arg.is(ValueKind::kString)) return expr;
        if (expr->op == Op::kIpCall) {
          auto ip = IpAddr::parse(arg.as_string());
          if (!ip.is_ok()) return expr;
          literal->literal = Value::ip(*ip);
        } else {
          auto decimal = Decimal::parse(arg.as_string());
          if (!decimal.is_ok()) return expr;
          literal->literal = Value::decimal(*decimal);
        }
        return literal;
      }
      default: return expr;
    }
  }

  static constexpr int kMaxDepth = 200;
  std::vector<Token> tokens_;
  internal::SourceRefs* refs_ = nullptr;  // not owned; null unless validating
  uint32_t policy_index_ = 0;
  internal::RefSite scope_site_ = internal::RefSite::kCondition;
  size_t pos_ = 0;
  int depth_ = 0;
  bool failed_ = false;
  ParseFailure failure_{0, 0, ""};
};

void build_index(internal::CompiledPolicySet& set) {
  for (uint32_t i = 0; i < set.policies.size(); ++i) {
    const auto& policy = set.policies[i];
    using Kind = ScopeConstraint::Kind;
    auto is_in_scope = [](const ScopeConstraint& scope) {
      return scope.kind == Kind::kIn || scope.kind == Kind::kIsIn;
    };
    if (policy.principal.kind == Kind::kEq) {
      set.by_principal[policy.principal.uid].push_back(i);
    } else if (policy.resource.kind == Kind::kEq) {
      set.by_resource[policy.resource.uid].push_back(i);
    } else if (is_in_scope(policy.principal)) {
      set.by_principal_in[policy.principal.uid].push_back(i);
    } else if (is_in_scope(policy.resource)) {
      set.by_resource_in[policy.resource.uid].push_back(i);
    } else if (policy.action.kind == Kind::kEq || policy.action.kind == Kind::kIn) {
      set.by_action[policy.action.uid].push_back(i);
    } else if (policy.action.kind == Kind::kInAny) {
      // `action in []` matches nothing and is filed nowhere.
      for (const EntityUid& uid : policy.action.uids) {
        std::vector<uint32_t>& list = set.by_action[uid];
        if (list.empty() || list.back() != i) list.push_back(i);
      }
    } else {
      set.unindexed.push_back(i);
    }
  }
}

}  // namespace

namespace internal {

Result<PolicySet> parse_policies_recording(std::string_view text, ParseError* error,
                                           SourceRefs* refs) {
  std::vector<Token> tokens;
  ParseFailure failure{0, 0, ""};
  Lexer lexer(text);
  bool ok = lexer.run(tokens, failure);
  auto compiled = std::make_unique<internal::CompiledPolicySet>();
  if (ok) {
    Parser parser(std::move(tokens), refs);
    ok = parser.parse_set(*compiled);
    if (!ok) failure = parser.failure();
  }
  if (!ok) {
    if (error != nullptr) *error = {failure.line, failure.column, failure.message};
    return invalid_argument(std::to_string(failure.line) + ":" + std::to_string(failure.column) +
                            ": " + failure.message);
  }
  build_index(*compiled);
  return PolicySetBuilder::make(std::move(compiled));
}

}  // namespace internal

Result<PolicySet> parse_policies_detailed(std::string_view text, ParseError* error) {
  return internal::parse_policies_recording(text, error, nullptr);
}

Result<PolicySet> parse_policies(std::string_view text) {
  return parse_policies_detailed(text, nullptr);
}

}  // namespace custos::policy
