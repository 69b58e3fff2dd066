// The server's TLS context, built from a PEM certificate (chain) file and a PEM
// private key file (docs/http-api.md, "TLS"):
//
//  - TLS 1.2 and 1.3 only; TLS 1.2 with ECDHE and AES-GCM or CHACHA20-POLY1305
//    only; the server's cipher order; no compression, no renegotiation.
//  - Refused, with an error naming the file: an unreadable or empty file, a
//    certificate that is expired or not yet valid, a key that does not match
//    the certificate, an encrypted key (a server cannot type a passphrase).
//  - The key is a secret: its bytes are wiped after loading and no error or
//    warning quotes them. A key file readable by group or others is served,
//    with a warning.
//
// Built at start-up and again on each SIGHUP (cli/serve_command.cc); a reload
// that fails leaves the previous context in use.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "events/status.h"

namespace boost::asio::ssl {
class context;
}

namespace accountable {

struct TlsFiles {
  std::string cert_file;  // PEM: the server's certificate first, then any intermediates
  std::string key_file;   // PEM: its private key, unencrypted
};

struct TlsContext {
  std::shared_ptr<boost::asio::ssl::context> context;
  // About the server's certificate, for logs: never anything of the key.
  std::string subject;
  std::string serial;     // hex
  std::string not_after;  // e.g. "Jan  2 03:04:05 2027 GMT"
  std::vector<std::string> warnings;  // e.g. the key file's mode lets others read it
};

// The TLS 1.2 cipher list: forward secret (ECDHE) AEAD suites only.
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// TLS 1.3's suites are all AEAD; named so that the list does not depend on the build.
inline constexpr const char* kTls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// `now` decides expired / not yet valid (a parameter for the tests).
Result<TlsContext> make_tls_context(const TlsFiles& files, std::time_t now = std::time(nullptr));

}  // namespace accountable
