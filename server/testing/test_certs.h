// Certificates and keys made in-process with OpenSSL for the TLS tests
// (tls_context_test.cc, http_server_tls_test.cc): a self-signed P-256
// certificate for 127.0.0.1 / localhost with the validity window, serial and
// common name the test asks for, written as PEM files.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>

namespace accountable::tls_test {

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using Cert = std::unique_ptr<X509, CertDeleter>;

inline Key make_key() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  return key;
}

// Valid from now + not_before_s to now + not_after_s (seconds; negative: the past).
inline Cert make_cert(EVP_PKEY* key, const std::string& common_name, long serial, long not_before_s,
                      long not_after_s) {
  Cert x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), not_after_s);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost")) {
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x.get(), key, EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
  return x;
}

inline void write_cert(const std::string& path, X509* x) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write " + path);
  PEM_write_X509(f, x);
  std::fclose(f);
}

// Mode 0600 unless told; `passphrase` set: an encrypted key.
inline void write_key(const std::string& path, EVP_PKEY* key, mode_t mode = 0600, const std::string& passphrase = "") {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write " + path);
  if (passphrase.empty()) {
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_PKCS8PrivateKey(f, key, EVP_aes_256_cbc(), const_cast<char*>(passphrase.c_str()),
                              static_cast<int>(passphrase.size()), nullptr, nullptr);
  }
  std::fclose(f);
  ::chmod(path.c_str(), mode);
}

// A valid certificate (an hour ago to a day ahead) and its key, as files.
inline void write_pair(const std::string& cert_path, const std::string& key_path, const std::string& common_name,
                       long serial) {
  Key key = make_key();
  Cert cert = make_cert(key.get(), common_name, serial, -3600, 86400);
  write_cert(cert_path, cert.get());
  write_key(key_path, key.get());
}

}  // namespace accountable::tls_test
