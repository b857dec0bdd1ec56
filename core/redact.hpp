#pragma once
// Secrets never reach logs, errors or the API. A Redactor knows the secret values
// of the loaded config (DSN passwords, tokens, webhook URLs) and also masks
// credentials it recognises by shape (user:password@ in URLs, password=... in DSNs).
//
// Immutable after construction; share it as std::shared_ptr<const Redactor>.

#include <string>
#include <string_view>
#include <vector>

namespace datawatch {

class Redactor {
 public:
  static constexpr std::string_view kMask = "<redacted>";

  Redactor() = default;
  explicit Redactor(std::vector<std::string> secrets);

  // Returns `text` with every known secret and every recognised credential masked.
  std::string redact(std::string_view text) const;

  // Masks the password of a URL-style or key=value DSN, keeping the rest readable:
  // "postgres://u:pw@h/db" -> "postgres://u:<redacted>@h/db". Also ODBC
  // connection strings, by shape: the value of PWD=, Password= and any key naming
  // a token or a secret (case-insensitive) up to the next ';', a {braced;value}
  // whole: "Driver=X;PWD={a;b};Uid=u" -> "Driver=X;PWD=<redacted>;Uid=u".
  static std::string redactDsn(std::string_view dsn);

  // Whether a connection-string key names a secret (case-insensitive): it holds
  // pwd, passw, token, secret, key or credential (PWD, Password, AccessToken,
  // ClientSecret, ApiKey, PrivKeyFile, Credentials...). The one list the config,
  // the ODBC source and redactDsn share.
  static bool isSecretKey(std::string_view key);

 private:
  std::vector<std::string> secrets_;  // longest first, so overlapping secrets mask fully
};

}  // namespace datawatch
