#include "server/tls_context.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace accountable {

namespace {

namespace ssl = boost::asio::ssl;

struct FreeX509 {
  void operator()(X509* x) const { X509_free(x); }
};
struct FreeKey {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct FreeBio {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, FreeX509>;
using KeyPtr = std::unique_ptr<EVP_PKEY, FreeKey>;
using BioPtr = std::unique_ptr<BIO, FreeBio>;

// The key's bytes are wiped when this goes, on every way out.
struct SecretBytes {
  std::string bytes;
  ~SecretBytes() {
    if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
  }
};

// OpenSSL's reason for the last error (never data, only the library's words),
// and an empty error queue after it.
std::string openssl_reason() {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(last);
  return reason ? reason : "OpenSSL error " + std::to_string(last);
}

std::string asn1_time_text(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !t || ASN1_TIME_print(bio.get(), t) != 1) return "(unreadable time)";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string subject_text(X509* x) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(x), 0, XN_FLAG_RFC2253) < 0) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string serial_text(X509* x) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
  if (!bn) return "";
  char* hex = BN_bn2hex(bn);
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

// A whole small file. The error names the file and the OS's reason; *mode is
// the file's permission bits.
Status read_file(const std::string& path, const std::string& what, const std::string& flag, std::string* out,
                 mode_t* mode) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return invalid_argument(std::string("cannot read the ") + what + " file " + path + ": " + std::strerror(errno),
                            flag);
  }
  struct stat st {};
  Status s;
  if (::fstat(fd, &st) != 0) {
    s = invalid_argument(std::string("cannot read the ") + what + " file " + path + ": " + std::strerror(errno), flag);
  } else if (!S_ISREG(st.st_mode)) {
    s = invalid_argument(std::string("the ") + what + " file " + path + " is not a regular file", flag);
  } else if (st.st_size > (1 << 20)) {
    s = invalid_argument(std::string("the ") + what + " file " + path + " is larger than 1 MiB", flag);
  } else {
    out->resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < out->size()) {
      const ssize_t n = ::read(fd, out->data() + got, out->size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        s = invalid_argument(std::string("cannot read the ") + what + " file " + path + ": " + std::strerror(errno),
                             flag);
        break;
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    out->resize(got);
    *mode = st.st_mode & 07777;
  }
  ::close(fd);
  return s;
}

Status check_validity(X509* x, std::time_t now, const std::string& cert_file, const char* which) {
  const int after_start = X509_cmp_time(X509_get0_notBefore(x), &now);
  const int before_end = X509_cmp_time(X509_get0_notAfter(x), &now);
  if (after_start == 0 || before_end == 0) {
    return invalid_argument("the " + std::string(which) + " in " + cert_file + " has unreadable validity dates",
                            "tls-cert");
  }
  if (after_start > 0) {
    return invalid_argument("the " + std::string(which) + " in " + cert_file + " is not valid yet: valid from " +
                                asn1_time_text(X509_get0_notBefore(x)),
                            "tls-cert");
  }
  if (before_end < 0) {
    return invalid_argument("the " + std::string(which) + " in " + cert_file + " expired on " +
                                asn1_time_text(X509_get0_notAfter(x)),
                            "tls-cert");
  }
  return Status::ok();
}

// A server has no one to type a passphrase: the callback declines at once
// (OpenSSL's default would prompt on the terminal).
int no_passphrase(char*, int, int, void*) { return -1; }

// Clients that offer ALPN learn that this server speaks HTTP/1.1.
int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                  void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof(kHttp11), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

Result<TlsContext> make_tls_context(const TlsFiles& files, std::time_t now) {
  if (files.cert_file.empty()) return invalid_argument("no certificate file given", "tls-cert");
  if (files.key_file.empty()) return invalid_argument("no private key file given", "tls-key");
  ERR_clear_error();

  // The certificate file: the server's certificate, then the chain.
  std::string cert_pem;
  mode_t cert_mode = 0;
  ACCT_RETURN_IF_ERROR(read_file(files.cert_file, "certificate", "tls-cert", &cert_pem, &cert_mode));
  BioPtr cert_bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  if (!cert_bio) return Status(StatusCode::kInternal, "out of memory");
  X509Ptr leaf(PEM_read_bio_X509_AUX(cert_bio.get(), nullptr, no_passphrase, nullptr));
  if (!leaf) {
    return invalid_argument("no PEM certificate in " + files.cert_file + " (" + openssl_reason() + ")", "tls-cert");
  }
  std::vector<X509Ptr> chain;
  while (X509* x = PEM_read_bio_X509(cert_bio.get(), nullptr, no_passphrase, nullptr)) chain.emplace_back(x);
  ERR_clear_error();  // the end of the file reads as "no start line"
  ACCT_RETURN_IF_ERROR(check_validity(leaf.get(), now, files.cert_file, "certificate"));
  for (const X509Ptr& x : chain) {
    ACCT_RETURN_IF_ERROR(check_validity(x.get(), now, files.cert_file, "chain certificate"));
  }

  // The key file. Its bytes are wiped when `key_pem` goes; errors name the file only.
  SecretBytes key_pem;
  mode_t key_mode = 0;
  ACCT_RETURN_IF_ERROR(read_file(files.key_file, "private key", "tls-key", &key_pem.bytes, &key_mode));
  if (key_pem.bytes.find("-----BEGIN ENCRYPTED") != std::string::npos ||
      key_pem.bytes.find("Proc-Type: 4,ENCRYPTED") != std::string::npos) {
    return invalid_argument("the private key in " + files.key_file +
                                " is encrypted; the server needs it unencrypted (protect the file's mode instead)",
                            "tls-key");
  }
  BioPtr key_bio(BIO_new_mem_buf(key_pem.bytes.data(), static_cast<int>(key_pem.bytes.size())));
  if (!key_bio) return Status(StatusCode::kInternal, "out of memory");
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    return invalid_argument("no PEM private key in " + files.key_file + " (" + openssl_reason() + ")", "tls-key");
  }
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    return invalid_argument("the private key in " + files.key_file + " does not match the certificate in " +
                                files.cert_file,
                            "tls-key");
  }

  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  // Protocols, ciphers and what a client may ask for (docs/http-api.md, "TLS").
  bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1;
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  ok = ok && SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) == 1;
  ok = ok && SSL_CTX_set_ciphersuites(ctx, kTls13Suites) == 1;
  if (!ok) return Status(StatusCode::kInternal, "cannot configure TLS: " + openssl_reason());
  SSL_CTX_set_alpn_select_cb(ctx, select_http11, nullptr);
  if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1) {
    return invalid_argument("the certificate in " + files.cert_file + " cannot be used: " + openssl_reason(),
                            "tls-cert");
  }
  for (const X509Ptr& x : chain) {
    if (SSL_CTX_add1_chain_cert(ctx, x.get()) != 1) {
      return invalid_argument("a chain certificate in " + files.cert_file + " cannot be used: " + openssl_reason(),
                              "tls-cert");
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return invalid_argument("the private key in " + files.key_file + " cannot be used with the certificate in " +
                                files.cert_file + ": " + openssl_reason(),
                            "tls-key");
  }

  TlsContext out;
  out.context = std::move(context);
  out.subject = subject_text(leaf.get());
  out.serial = serial_text(leaf.get());
  out.not_after = asn1_time_text(X509_get0_notAfter(leaf.get()));
  if ((key_mode & 0077) != 0) {
    char mode_text[16];  // room for any unsigned in octal: the Release build's -Wformat-truncation checks it
    std::snprintf(mode_text, sizeof(mode_text), "%04o", static_cast<unsigned>(key_mode & 07777));
    out.warnings.push_back("the private key file " + files.key_file + " has mode " + mode_text +
                           ": its group or others may read it; chmod 600 it");
  }
  return out;
}

}  // namespace accountable
