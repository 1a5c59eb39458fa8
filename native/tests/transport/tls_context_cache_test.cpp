// Sockets share a TLS context (and with it their TLS sessions) only when every setting that
// shapes the context is equal: a session resumed under other verification rules than the ones
// it was verified with would skip a check the socket asked for.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "transport/tls_context_cache.hpp"

namespace rws {
namespace {

// A self-signed certificate in PEM: a CA a context can trust.
std::string self_signed_pem(const char* common_name) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  EXPECT_TRUE(key && cert);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  EXPECT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(out.get(), cert.get());
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::shared_ptr<X509_STORE> empty_store() { return std::shared_ptr<X509_STORE>(X509_STORE_new(), X509_STORE_free); }

class TlsContextCache : public ::testing::Test {
 protected:
  // Settings that trust a CA of their own, named `common_name`.
  static tls_config trusting(const char* common_name) {
    tls_config settings;
    settings.ca = self_signed_pem(common_name);
    return settings;
  }

  tls_context_cache cache;
  std::string error;
};

TEST_F(TlsContextCache, EqualSettingsShareOneContextWhateverTheServername) {
  tls_config a = trusting("one");
  tls_config b = a;
  b.servername = "other.example";
  auto first = cache.share(a, error, nullptr);
  ASSERT_TRUE(first) << error;
  EXPECT_EQ(cache.share(a, error, nullptr), first);
  EXPECT_EQ(cache.share(b, error, nullptr), first);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(TlsContextCache, EverySettingThatShapesTheContextSeparatesIt) {
  tls_config base = trusting("one");
  auto shared = cache.share(base, error, nullptr);
  ASSERT_TRUE(shared) << error;

  tls_config other_ca = base;
  other_ca.ca = self_signed_pem("two");
  tls_config no_verification = base;
  no_verification.reject_unauthorized = false;
  tls_config system_trust;  // empty ca: OpenSSL's default paths here
  std::vector<std::shared_ptr<boost::asio::ssl::context>> held{shared};
  for (const tls_config* settings : {&other_ca, &no_verification, &system_trust}) {
    auto context = cache.share(*settings, error, nullptr);
    ASSERT_TRUE(context) << error;
    for (const auto& earlier : held) EXPECT_NE(context, earlier);
    held.push_back(context);
  }
  EXPECT_EQ(cache.size(), 4u);
}

TEST_F(TlsContextCache, AnEmptyCaSharesOnlyUnderTheSameDefaultTrustStore) {
  tls_config settings;  // no tls.ca: the environment's default store stands in
  auto store_a = empty_store();
  auto store_b = empty_store();
  auto under_a = cache.share(settings, error, store_a);
  ASSERT_TRUE(under_a) << error;
  EXPECT_EQ(cache.share(settings, error, store_a), under_a);
  EXPECT_NE(cache.share(settings, error, store_b), under_a);
  // With tls.ca set, the default store plays no part.
  settings.ca = self_signed_pem("one");
  auto with_ca = cache.share(settings, error, store_a);
  ASSERT_TRUE(with_ca) << error;
  EXPECT_EQ(cache.share(settings, error, store_b), with_ca);
}

TEST_F(TlsContextCache, UnusableMaterialIsAnErrorAndNotRemembered) {
  tls_config bad;
  bad.ca = "not a certificate";
  EXPECT_EQ(cache.share(bad, error, nullptr), nullptr);
  EXPECT_NE(error.find("tls.ca"), std::string::npos) << error;
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(TlsContextCache, AContextNoSocketHoldsIsMadeAgainAndEntriesStayBounded) {
  tls_config settings = trusting("one");
  std::weak_ptr<boost::asio::ssl::context> gone = cache.share(settings, error, nullptr);
  EXPECT_TRUE(gone.expired());  // the cache holds no context itself
  auto again = cache.share(settings, error, nullptr);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(cache.size(), 1u);  // the expired entry's slot was reused
  // Many distinct settings that come and go, each in a bucket of its own (no slot to reuse):
  // swept, not accumulated.
  for (int i = 0; i < 100; ++i) {
    const tls_config passing = trusting(("passing " + std::to_string(i)).c_str());
    ASSERT_TRUE(cache.share(passing, error, nullptr)) << error;
  }
  EXPECT_LE(cache.size(), 4u);
}

}  // namespace
}  // namespace rws
