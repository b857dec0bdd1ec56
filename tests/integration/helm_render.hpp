#pragma once
// A small renderer for the chart's templates (no `helm` binary in Debian): Go
// text/template actions (if / else if / else / with / range / define / end,
// variables, pipelines, parentheses) and the Sprig functions the chart uses.
// It renders deployment.yaml, pdb.yaml, pvc.yaml and the helpers with the
// chart's real values merged with an override, the way `helm template` does,
// so the tests see what Kubernetes would get. Unknown functions throw, so the
// chart cannot drift silently beyond what is tested here. `include` of another
// template file (the config checksum) renders "".

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace helm_render {

using nlohmann::json;

// `fail` in a template.
struct Failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline json fromYaml(const YAML::Node& n) {
  if (n.IsMap()) {
    json o = json::object();
    for (const auto& kv : n) o[kv.first.as<std::string>()] = fromYaml(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    json a = json::array();
    for (const auto& x : n) a.push_back(fromYaml(x));
    return a;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s == "~" || s == "null") return nullptr;
  if (s == "true" || s == "false") return s == "true";
  try {
    size_t used = 0;
    const long long i = std::stoll(s, &used);
    if (used == s.size()) return i;
    const double d = std::stod(s, &used);
    if (used == s.size()) return d;
  } catch (const std::exception&) {
  }
  return s;
}

inline YAML::Node toNode(const json& j) {
  YAML::Node n;
  if (j.is_object()) {
    n = YAML::Node(YAML::NodeType::Map);
    for (auto it = j.begin(); it != j.end(); ++it) n[it.key()] = toNode(it.value());
  } else if (j.is_array()) {
    n = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& x : j) n.push_back(toNode(x));
  } else if (j.is_string()) {
    n = j.get<std::string>();
  } else if (!j.is_null()) {
    n = j.dump();
  }
  return n;
}

// Helm's merge of an override into the defaults: maps merge, the rest replaces.
inline void merge(json& into, const json& over) {
  if (!into.is_object() || !over.is_object()) {
    into = over;
    return;
  }
  for (auto it = over.begin(); it != over.end(); ++it) merge(into[it.key()], it.value());
}

inline bool truthy(const json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) return !v.get<std::string>().empty();
  return !v.empty();
}

inline std::string str(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  return v.dump();
}

class Renderer {
 public:
  // `files`: template name -> text (the helpers' defines are taken from all).
  Renderer(json root, std::map<std::string, std::string> files)
      : root_(std::move(root)), files_(std::move(files)) {
    for (const auto& [name, text] : files_) {
      size_t pos = 0;
      parse(tokenize(text), pos);  // registers the defines
    }
  }

  std::string render(const std::string& file) {
    size_t pos = 0;
    const auto nodes = parse(tokenize(files_.at(file)), pos);
    std::string out;
    exec(nodes, root_, out);
    return out;
  }

 private:
  struct Token {
    bool action;
    std::string text;
  };
  struct Node {
    std::string kind;  // text, expr, if, with, range
    std::string text;  // text, or the pipeline
    std::vector<Node> body, otherwise;
  };

  json root_;
  std::map<std::string, std::string> files_;
  std::map<std::string, std::vector<Node>> defines_;
  std::map<std::string, json> vars_;

  static std::vector<Token> tokenize(const std::string& t) {
    std::vector<Token> out;
    size_t i = 0;
    bool trim_next = false;
    while (i < t.size()) {
      size_t open = t.find("{{", i);
      std::string text = t.substr(i, open == std::string::npos ? std::string::npos : open - i);
      if (trim_next)
        text.erase(0, text.find_first_not_of(" \t\r\n") == std::string::npos
                          ? text.size()
                          : text.find_first_not_of(" \t\r\n"));
      if (open == std::string::npos) {
        out.push_back({false, text});
        break;
      }
      const size_t close = t.find("}}", open);
      if (close == std::string::npos) throw std::runtime_error("unclosed {{");
      std::string a = t.substr(open + 2, close - open - 2);
      if (!a.empty() && a[0] == '-') {
        a.erase(0, 1);
        const size_t last = text.find_last_not_of(" \t\r\n");
        text.erase(last == std::string::npos ? 0 : last + 1);
      }
      trim_next = !a.empty() && a.back() == '-';
      if (trim_next) a.pop_back();
      out.push_back({false, text});
      out.push_back({true, a});
      i = close + 2;
    }
    return out;
  }

  static std::string trimmed(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
  }

  static bool startsWord(const std::string& a, const std::string& w) {
    return a.rfind(w, 0) == 0 &&
           (a.size() == w.size() || std::isspace(static_cast<unsigned char>(a[w.size()])));
  }

  // Parses until `end` or `else`; returns the stopping action in `stop`.
  std::vector<Node> parse(const std::vector<Token>& toks, size_t& pos,
                          std::string* stop = nullptr) {
    std::vector<Node> out;
    while (pos < toks.size()) {
      const Token& tk = toks[pos++];
      if (!tk.action) {
        if (!tk.text.empty()) out.push_back({"text", tk.text, {}, {}});
        continue;
      }
      const std::string a = trimmed(tk.text);
      if (a.rfind("/*", 0) == 0) continue;
      if (a == "end" || startsWord(a, "else")) {
        if (!stop) throw std::runtime_error("unexpected {{" + a + "}}");
        *stop = a;
        return out;
      }
      if (startsWord(a, "define")) {
        std::string s;
        auto body = parse(toks, pos, &s);
        const size_t q = a.find('"');
        defines_[a.substr(q + 1, a.rfind('"') - q - 1)] = body;
        continue;
      }
      for (const char* kw : {"if", "with", "range"}) {
        if (!startsWord(a, kw)) continue;
        out.push_back(block(kw, a.substr(std::string(kw).size()), toks, pos));
        goto next;
      }
      out.push_back({"expr", a, {}, {}});
    next:;
    }
    if (stop) throw std::runtime_error("missing {{end}}");
    return out;
  }

  Node block(const std::string& kind, const std::string& pipe, const std::vector<Token>& toks,
             size_t& pos) {
    Node n{kind, pipe, {}, {}};
    std::string s;
    n.body = parse(toks, pos, &s);
    if (s == "else") {
      n.otherwise = parse(toks, pos, &s);
      if (s != "end") throw std::runtime_error("else after else");
    } else if (startsWord(s, "else")) {  // else if / else with
      const std::string rest = trimmed(s.substr(4));
      const std::string kw = rest.substr(0, rest.find(' '));
      n.otherwise.push_back(block(kw, rest.substr(kw.size()), toks, pos));
    }
    return n;
  }

  void exec(const std::vector<Node>& nodes, const json& dot, std::string& out) {
    for (const auto& n : nodes) {
      if (n.kind == "text") {
        out += n.text;
      } else if (n.kind == "expr") {
        const std::string p = trimmed(n.text);
        const json v = pipeline(p, dot);
        if (!declares(p)) out += str(v);
      } else if (n.kind == "if" || n.kind == "with") {
        const json v = pipeline(n.text, dot);
        if (truthy(v))
          exec(n.body, n.kind == "with" ? v : dot, out);
        else
          exec(n.otherwise, dot, out);
      } else if (n.kind == "range") {
        const json v = pipeline(n.text, dot);
        if (!truthy(v)) exec(n.otherwise, dot, out);
        for (const auto& x : v) exec(n.body, x, out);
      }
    }
  }

  static bool declares(const std::string& p) {
    return !p.empty() && p[0] == '$' && p.find(":=") != std::string::npos;
  }

  // ---- pipelines: `[$v :=] cmd | cmd ...`, a cmd is `operand...`.
  json pipeline(std::string p, const json& dot) {
    p = trimmed(p);
    std::string var;
    if (declares(p)) {
      const size_t d = p.find(":=");
      var = trimmed(p.substr(0, d));
      p = p.substr(d + 2);
    }
    json value;
    bool have = false;
    for (const auto& cmd : split(p, '|')) {
      value = command(cmd, dot, have ? &value : nullptr);
      have = true;
    }
    if (!var.empty()) vars_[var] = value;
    return value;
  }

  // Top-level split of `s` at `sep` (outside quotes and parentheses).
  static std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out(1);
    int depth = 0;
    bool quoted = false;
    for (size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      if (quoted) {
        if (c == '\\' && i + 1 < s.size()) {
          out.back() += c;
          out.back() += s[++i];
          continue;
        }
        if (c == '"') quoted = false;
      } else if (c == '"') {
        quoted = true;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')') {
        --depth;
      } else if (depth == 0 &&
                 (c == sep || (sep == ' ' && std::isspace(static_cast<unsigned char>(c))))) {
        if (!out.back().empty()) out.emplace_back();
        continue;
      }
      out.back() += c;
    }
    if (out.back().empty()) out.pop_back();
    return out;
  }

  json command(const std::string& cmd, const json& dot, const json* piped) {
    const auto words = split(trimmed(cmd), ' ');
    if (words.empty()) throw std::runtime_error("empty command");
    const std::string& head = words[0];
    if (!std::isalpha(static_cast<unsigned char>(head[0]))) {  // an operand, not a function
      if (words.size() != 1 || piped) throw std::runtime_error("not a function: " + cmd);
      return operand(head, dot);
    }
    std::vector<json> args;
    for (size_t i = 1; i < words.size(); ++i) args.push_back(operand(words[i], dot));
    if (piped) args.push_back(*piped);
    return call(head, args, dot);
  }

  json operand(const std::string& w, const json& dot) {
    if (w[0] == '(') return pipeline(w.substr(1, w.size() - 2), dot);
    if (w[0] == '"') return json::parse(w);  // Go and JSON string escapes agree here
    if (std::isdigit(static_cast<unsigned char>(w[0])) || w[0] == '-') return json::parse(w);
    if (w == "true" || w == "false") return w == "true";
    if (w[0] == '.') return field(dot, w.substr(1));
    if (w[0] == '$') {
      const size_t d = w.find('.');
      const std::string name = w.substr(0, d);
      const json base = name == "$" ? root_ : vars_.at(name);
      return d == std::string::npos ? base : field(base, w.substr(d + 1));
    }
    throw std::runtime_error("unknown operand: " + w);
  }

  static json field(const json& base, const std::string& path) {
    json v = base;
    std::string part;
    std::stringstream ss(path);
    while (std::getline(ss, part, '.')) {
      if (part.empty()) continue;
      if (!v.is_object() || !v.contains(part)) return nullptr;
      v = json(v.at(part));
    }
    return v;
  }

  json call(const std::string& f, const std::vector<json>& a, const json& dot) {
    (void)dot;
    auto need = [&](size_t n) {
      if (a.size() != n) throw std::runtime_error(f + ": wrong number of arguments");
    };
    if (f == "include") {
      need(2);
      const std::string name = str(a[0]);
      if (!defines_.count(name)) {
        if (files_.count(name.substr(name.rfind('/') + 1))) return "";  // checksum input
        throw std::runtime_error("no template " + name);
      }
      std::string out;
      exec(defines_.at(name), a[1], out);
      return out;
    }
    if (f == "not") return need(1), !truthy(a[0]);
    if (f == "and") {
      for (const auto& x : a)
        if (!truthy(x)) return x;
      return a.back();
    }
    if (f == "or") {
      for (const auto& x : a)
        if (truthy(x)) return x;
      return a.back();
    }
    if (f == "eq") return need(2), a[0] == a[1];
    if (f == "gt") return need(2), a[0].get<double>() > a[1].get<double>();
    if (f == "int")
      return need(1), a[0].is_number() ? a[0].get<long long>() : std::stoll(str(a[0]));
    if (f == "toString") return need(1), str(a[0]);
    if (f == "hasPrefix") return need(2), str(a[1]).rfind(str(a[0]), 0) == 0;
    if (f == "contains") return need(2), str(a[1]).find(str(a[0])) != std::string::npos;
    if (f == "default") return need(2), truthy(a[1]) ? a[1] : a[0];
    if (f == "quote") return need(1), json(str(a[0])).dump();
    if (f == "trunc") return need(2), str(a[1]).substr(0, a[0].get<size_t>());
    if (f == "sha256sum") return need(1), "sha256";
    if (f == "print") {
      std::string s;
      for (const auto& x : a) s += str(x);
      return s;
    }
    if (f == "trimSuffix") {
      need(2);
      std::string s = str(a[1]);
      const std::string x = str(a[0]);
      if (s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0)
        s.erase(s.size() - x.size());
      return s;
    }
    if (f == "replace") {
      need(3);
      std::string s = str(a[2]);
      const std::string from = str(a[0]), to = str(a[1]);
      for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
      return s;
    }
    if (f == "printf") return printf(a);
    if (f == "fail") throw Failed(str(a.at(0)));
    if (f == "toYaml") {
      need(1);
      if (!truthy(a[0])) return a[0].is_array() ? "[]" : "{}";
      YAML::Emitter e;
      e << toNode(a[0]);
      return std::string(e.c_str());
    }
    if (f == "nindent" || f == "indent") {
      need(2);
      const std::string pad(a[0].get<size_t>(), ' ');
      std::string out = f == "nindent" ? "\n" + pad : pad;
      for (char c : str(a[1])) out += c == '\n' ? "\n" + pad : std::string(1, c);
      return out;
    }
    throw std::runtime_error("the test renderer has no function " + f);
  }

  static json printf(const std::vector<json>& a) {
    const std::string fmt = str(a.at(0));
    std::string out;
    size_t k = 1;
    for (size_t i = 0; i < fmt.size(); ++i) {
      if (fmt[i] != '%' || i + 1 == fmt.size()) {
        out += fmt[i];
        continue;
      }
      const char v = fmt[++i];
      if (v == '%') {
        out += '%';
      } else {
        const json& x = a.at(k++);
        out += v == 'q' ? json(str(x)).dump() : str(x);
      }
    }
    return out;
  }
};

}  // namespace helm_render
