// make_tls_context: the protocol floor, the cipher list and the options it sets,
// and each file it refuses, named in the error (certificates made in-process:
// server/testing/test_certs.h).
#include "server/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/testing/test_certs.h"
#include "testing/scratch_dir.h"

namespace accountable {
namespace {

using namespace tls_test;

class TlsContextTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  static std::string read(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  testing::ScratchDir scratch_{"acct-tls"};
  const std::string dir_ = scratch_.path();
};

TEST_F(TlsContextTest, ValidPairGivesTls12FloorModernCiphersAndNoCompressionOrRenegotiation) {
  write_pair(path("cert.pem"), path("key.pem"), "acct-test", 4242);
  auto tls = make_tls_context({path("cert.pem"), path("key.pem")});
  ASSERT_TRUE(tls.is_ok()) << tls.status().to_string();
  SSL_CTX* ctx = tls->context->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
  const uint64_t options = SSL_CTX_get_options(ctx);
  EXPECT_NE(options & SSL_OP_NO_COMPRESSION, 0u);
  EXPECT_NE(options & SSL_OP_CIPHER_SERVER_PREFERENCE, 0u);
  EXPECT_NE(options & SSL_OP_NO_RENEGOTIATION, 0u);
  // Every TLS 1.2 suite offered is ECDHE + AEAD; TLS 1.3's are all AEAD.
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  ASSERT_NE(ciphers, nullptr);
  int tls12 = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    EXPECT_EQ(SSL_CIPHER_is_aead(c), 1) << SSL_CIPHER_get_name(c);
    if (std::string(SSL_CIPHER_get_version(c)) == "TLSv1.3") continue;
    ++tls12;
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(c), NID_kx_ecdhe) << SSL_CIPHER_get_name(c);
  }
  EXPECT_EQ(tls12, 6);
  EXPECT_NE(tls->subject.find("CN=acct-test"), std::string::npos) << tls->subject;
  EXPECT_EQ(tls->serial, "1092");  // 4242 in hex
  EXPECT_FALSE(tls->not_after.empty());
  EXPECT_TRUE(tls->warnings.empty());
}

TEST_F(TlsContextTest, RefusesAnExpiredCertificateNamingTheFile) {
  Key key = make_key();
  Cert cert = make_cert(key.get(), "old", 1, -7 * 86400, -86400);
  write_cert(path("expired.pem"), cert.get());
  write_key(path("key.pem"), key.get());
  auto tls = make_tls_context({path("expired.pem"), path("key.pem")});
  ASSERT_FALSE(tls.is_ok());
  EXPECT_NE(tls.status().message().find(path("expired.pem")), std::string::npos) << tls.status().message();
  EXPECT_NE(tls.status().message().find("expired on"), std::string::npos) << tls.status().message();
  // The same files are good at a time inside their window.
  EXPECT_TRUE(make_tls_context({path("expired.pem"), path("key.pem")}, std::time(nullptr) - 3 * 86400).is_ok());
}

TEST_F(TlsContextTest, RefusesACertificateNotValidYet) {
  Key key = make_key();
  Cert cert = make_cert(key.get(), "future", 1, 86400, 7 * 86400);
  write_cert(path("future.pem"), cert.get());
  write_key(path("key.pem"), key.get());
  auto tls = make_tls_context({path("future.pem"), path("key.pem")});
  ASSERT_FALSE(tls.is_ok());
  EXPECT_NE(tls.status().message().find("not valid yet"), std::string::npos) << tls.status().message();
  EXPECT_NE(tls.status().message().find(path("future.pem")), std::string::npos);
}

TEST_F(TlsContextTest, RefusesAKeyThatDoesNotMatchTheCertificate) {
  write_pair(path("cert.pem"), path("key.pem"), "one", 1);
  write_pair(path("other-cert.pem"), path("other-key.pem"), "two", 2);
  auto tls = make_tls_context({path("cert.pem"), path("other-key.pem")});
  ASSERT_FALSE(tls.is_ok());
  EXPECT_EQ(tls.status().field(), "tls-key");
  EXPECT_NE(tls.status().message().find("does not match"), std::string::npos) << tls.status().message();
  EXPECT_NE(tls.status().message().find(path("other-key.pem")), std::string::npos);
}

TEST_F(TlsContextTest, RefusesMissingEmptyAndNonPemFilesNamingEach) {
  write_pair(path("cert.pem"), path("key.pem"), "one", 1);
  auto missing_cert = make_tls_context({path("nope.pem"), path("key.pem")});
  ASSERT_FALSE(missing_cert.is_ok());
  EXPECT_NE(missing_cert.status().message().find(path("nope.pem")), std::string::npos);
  EXPECT_NE(missing_cert.status().message().find("No such file"), std::string::npos);
  auto missing_key = make_tls_context({path("cert.pem"), path("nokey.pem")});
  ASSERT_FALSE(missing_key.is_ok());
  EXPECT_NE(missing_key.status().message().find(path("nokey.pem")), std::string::npos);
  auto directory = make_tls_context({dir_, path("key.pem")});
  ASSERT_FALSE(directory.is_ok());
  EXPECT_NE(directory.status().message().find("not a regular file"), std::string::npos);
  std::ofstream(path("garbage.pem")) << "not a certificate\n";
  auto garbage = make_tls_context({path("garbage.pem"), path("key.pem")});
  ASSERT_FALSE(garbage.is_ok());
  EXPECT_NE(garbage.status().message().find("no PEM certificate in " + path("garbage.pem")), std::string::npos)
      << garbage.status().message();
  std::ofstream(path("empty.pem")).close();
  auto empty_key = make_tls_context({path("cert.pem"), path("empty.pem")});
  ASSERT_FALSE(empty_key.is_ok());
  EXPECT_NE(empty_key.status().message().find("no PEM private key in " + path("empty.pem")), std::string::npos)
      << empty_key.status().message();
}

TEST_F(TlsContextTest, RefusesAnEncryptedKeyWithoutPrompting) {
  Key key = make_key();
  Cert cert = make_cert(key.get(), "enc", 1, -3600, 86400);
  write_cert(path("cert.pem"), cert.get());
  write_key(path("key.pem"), key.get(), 0600, "a passphrase");
  auto tls = make_tls_context({path("cert.pem"), path("key.pem")});
  ASSERT_FALSE(tls.is_ok());
  EXPECT_NE(tls.status().message().find("encrypted"), std::string::npos) << tls.status().message();
}

TEST_F(TlsContextTest, WarnsAboutAKeyOthersCanReadAndNeverQuotesTheKey) {
  Key key = make_key();
  Cert cert = make_cert(key.get(), "one", 1, -3600, 86400);
  write_cert(path("cert.pem"), cert.get());
  write_key(path("key.pem"), key.get(), 0644);
  auto tls = make_tls_context({path("cert.pem"), path("key.pem")});
  ASSERT_TRUE(tls.is_ok()) << tls.status().to_string();
  ASSERT_EQ(tls->warnings.size(), 1u);
  EXPECT_NE(tls->warnings[0].find(path("key.pem")), std::string::npos) << tls->warnings[0];
  EXPECT_NE(tls->warnings[0].find("0644"), std::string::npos) << tls->warnings[0];
  // No line of the key's body shows up in a warning or in a refusal about it.
  Key other = make_key();
  write_key(path("other.pem"), other.get());
  auto mismatch = make_tls_context({path("cert.pem"), path("other.pem")});
  ASSERT_FALSE(mismatch.is_ok());
  for (const std::string& file : {path("key.pem"), path("other.pem")}) {
    std::istringstream lines(read(file));
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line.starts_with("-----")) continue;
      EXPECT_EQ(tls->warnings[0].find(line), std::string::npos);
      EXPECT_EQ(mismatch.status().message().find(line), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace accountable
