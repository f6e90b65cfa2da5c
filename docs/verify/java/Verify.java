// Verify a wxlogin access token in another Java service, then ask wxlogin whether it is
// still active. Java 17, the JDK alone, run as a single source file:
//
//   WXLOGIN_URL=https://login.internal WXLOGIN_AUDIENCE=wx0123456789abcdef \
//   INTROSPECTION_CLIENT_ID=orders INTROSPECTION_CLIENT_SECRET=... \
//   java Verify.java "$ACCESS_TOKEN"
//
// The token is the first argument, or ACCESS_TOKEN when there is none. Exit status: 0 verified
// and active; 1 refused (signature, issuer, audience, expiry, token type) or any other error;
// 2 a setting is missing; 3 verified here, but wxlogin says it is no longer active (logged out,
// revoked, its user disabled).
//
// A real project should use a JOSE library rather than this: nimbus-jose-jwt
// (com.nimbusds:nimbus-jose-jwt; RemoteJWKSet / JWKSourceBuilder with a
// DefaultJWTProcessor and JWSVerificationKeySelector for ES256, DefaultJWTClaimsVerifier
// for iss, aud and exp), or Spring Security's NimbusJwtDecoder.withJwkSetUri(...). This
// example shows the steps with the JDK only (the machine it was written on reaches no Maven
// repository): every check below is one such a library makes for you.

import java.math.BigInteger;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public class Verify {
    static final String ISSUER = "wxlogin"; // every token's iss
    static final long LEEWAY = 30; // seconds of clock skew between hosts, as wxlogin itself allows
    static final List<String> SETTINGS =
            List.of("WXLOGIN_URL", "WXLOGIN_AUDIENCE", "INTROSPECTION_CLIENT_ID", "INTROSPECTION_CLIENT_SECRET");
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static class Refused extends Exception {
        Refused(String message) { super(message); }
    }

    public static void main(String[] args) {
        int status;
        try {
            status = run(args);
        } catch (Exception error) {
            System.err.println("error: " + error);
            status = 1;
        }
        System.exit(status);
    }

    static int run(String[] args) throws Exception {
        List<String> missing = SETTINGS.stream().filter(name -> blank(System.getenv(name))).toList();
        String token = args.length > 0 ? args[0] : System.getenv("ACCESS_TOKEN");
        if (!missing.isEmpty() || blank(token)) {
            System.err.println("usage: java Verify.java ACCESS_TOKEN, with " + String.join(", ", SETTINGS)
                    + " set (missing: " + (missing.isEmpty() ? "the token" : String.join(", ", missing)) + ")");
            return 2;
        }
        String base = System.getenv("WXLOGIN_URL").replaceAll("/+$", "");
        String audience = System.getenv("WXLOGIN_AUDIENCE");

        // A long-running service fetches the JWKS once and keeps it (300 s, as its
        // Cache-Control says), fetching it again when a token names a kid it has not seen.
        Map<String, Object> jwks = asObject(Json.parse(get(base + "/.well-known/jwks.json")));
        Map<String, Object> claims;
        try {
            claims = verify(token, jwks, audience);
        } catch (Refused error) {
            System.err.println("token refused: " + error.getMessage());
            return 1;
        }
        String kid = (String) asObject(Json.parse(decode(token.split("\\.")[0]))).get("kid");
        long exp = ((Number) claims.get("exp")).longValue();
        System.out.println("token verified (kid " + kid + "), expires " + Instant.ofEpochSecond(exp));
        System.out.println("sub: " + claims.get("sub"));

        Object active = introspect(base, token, System.getenv("INTROSPECTION_CLIENT_ID"),
                System.getenv("INTROSPECTION_CLIENT_SECRET")).get("active");
        System.out.println("active: " + Boolean.TRUE.equals(active));
        if (!Boolean.TRUE.equals(active)) {
            System.err.println("wxlogin says the token is no longer active (logged out, revoked, or its user disabled)");
            return 3;
        }
        return 0;
    }

    /** The claims of the token once its signature (by the JWKS key its kid names), iss, aud,
     * exp and nbf check out; throws Refused otherwise. */
    static Map<String, Object> verify(String token, Map<String, Object> jwks, String audience) throws Refused {
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3) throw new Refused("not a JWS in compact form");
        Map<String, Object> header;
        Map<String, Object> claims;
        byte[] signature;
        try {
            header = asObject(Json.parse(decode(parts[0])));
            claims = asObject(Json.parse(decode(parts[1])));
            signature = Base64.getUrlDecoder().decode(parts[2]);
        } catch (IllegalArgumentException error) {
            throw new Refused("malformed token: " + error.getMessage());
        }
        // Only ES256: never "none", never HS256 with the public key as its secret.
        if (!"ES256".equals(header.get("alg"))) throw new Refused("alg is " + header.get("alg") + ", not ES256");
        Map<String, Object> jwk = keyNamed(jwks, header.get("kid"));
        try {
            // JWS carries an ES256 signature as r || s, 32 bytes each (RFC 7518, 3.4), not in
            // DER: the P1363 variant of SHA256withECDSA reads that form.
            Signature verifier = Signature.getInstance("SHA256withECDSAinP1363Format");
            verifier.initVerify(publicKey(jwk));
            verifier.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            if (signature.length != 64 || !verifier.verify(signature)) throw new Refused("bad signature");
        } catch (GeneralSecurityException error) {
            throw new Refused("bad signature or key: " + error.getMessage());
        }

        long now = Instant.now().getEpochSecond();
        if (!ISSUER.equals(claims.get("iss"))) throw new Refused("iss is " + claims.get("iss") + ", not " + ISSUER);
        Object aud = claims.get("aud"); // a string, or (RFC 7519) an array of strings
        boolean forUs = aud instanceof List<?> list ? list.contains(audience) : audience.equals(aud);
        if (!forUs) throw new Refused("aud is " + aud + ", not " + audience);
        if (!(claims.get("exp") instanceof Number exp)) throw new Refused("no exp");
        if (now > exp.longValue() + LEEWAY) throw new Refused("expired at " + Instant.ofEpochSecond(exp.longValue()));
        if (claims.get("nbf") instanceof Number nbf && now < nbf.longValue() - LEEWAY) {
            throw new Refused("not valid before " + Instant.ofEpochSecond(nbf.longValue()));
        }
        if (!(claims.get("sub") instanceof String)) throw new Refused("no sub");
        // A refresh token is signed by the same key for the same audience: accept access tokens only.
        if (!"access".equals(claims.get("type"))) throw new Refused("not an access token (type " + claims.get("type") + ")");
        return claims;
    }

    /** The JWK of the JWKS whose kid the token names: an unknown kid is refused, never tried
     * against another key. */
    static Map<String, Object> keyNamed(Map<String, Object> jwks, Object kid) throws Refused {
        if (kid instanceof String && jwks.get("keys") instanceof List<?> keys) {
            for (Object key : keys) {
                if (key instanceof Map<?, ?> jwk && kid.equals(jwk.get("kid"))) return asObject(jwk);
            }
        }
        throw new Refused("no key of wxlogin's JWKS has kid " + kid);
    }

    /** A P-256 public key from a JWK's x and y (RFC 7518, 6.2.1): the curve's parameters come
     * from the JDK's own secp256r1, the point from the two unsigned big-endian coordinates. */
    static PublicKey publicKey(Map<String, Object> jwk) throws GeneralSecurityException, Refused {
        if (!"EC".equals(jwk.get("kty")) || !"P-256".equals(jwk.get("crv"))) throw new Refused("not a P-256 key");
        if (jwk.containsKey("use") && !"sig".equals(jwk.get("use"))) throw new Refused("not a signing key");
        AlgorithmParameters parameters = AlgorithmParameters.getInstance("EC");
        parameters.init(new ECGenParameterSpec("secp256r1"));
        ECParameterSpec p256 = parameters.getParameterSpec(ECParameterSpec.class);
        ECPoint point = new ECPoint(coordinate(jwk.get("x")), coordinate(jwk.get("y")));
        return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(point, p256));
    }

    static BigInteger coordinate(Object value) throws Refused {
        if (!(value instanceof String text)) throw new Refused("JWK without x or y");
        byte[] bytes = Base64.getUrlDecoder().decode(text);
        if (bytes.length != 32) throw new Refused("a P-256 coordinate is 32 bytes, not " + bytes.length);
        return new BigInteger(1, bytes);
    }

    /** RFC 7662: wxlogin's own answer, which sees logouts and revocations at once. */
    static Map<String, Object> introspect(String base, String token, String clientId, String clientSecret)
            throws Exception {
        String credentials = Base64.getEncoder()
                .encodeToString((clientId + ":" + clientSecret).getBytes(StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/oauth/introspect"))
                .timeout(Duration.ofSeconds(5))
                .header("Authorization", "Basic " + credentials)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("token=" + URLEncoder.encode(token, StandardCharsets.UTF_8)))
                .build();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) { // 401: the client id or secret is wrong
            throw new IllegalStateException("introspection answered HTTP " + response.statusCode());
        }
        return asObject(Json.parse(response.body()));
    }

    static String get(String url) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) throw new IllegalStateException(url + " answered HTTP " + response.statusCode());
        return response.body();
    }

    static String decode(String base64url) {
        return new String(Base64.getUrlDecoder().decode(base64url), StandardCharsets.UTF_8);
    }

    static boolean blank(String value) {
        return value == null || value.isBlank();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> asObject(Object value) {
        if (value instanceof Map<?, ?> map) return (Map<String, Object>) map;
        throw new IllegalArgumentException("expected a JSON object");
    }

    /** Just enough JSON for the three documents read here (the JWKS, the token's header and
     * claims, the introspection answer): objects, arrays, strings with their escapes, numbers,
     * true, false, null. A regex over the text would do for the JWKS's flat members, but the
     * claims hold an array (aud may be one) and strings a client chose (a nickname could
     * contain "exp":0), so the text is parsed rather than searched. Numbers are read as Long
     * when integral, Double otherwise; anything malformed throws IllegalArgumentException. */
    static final class Json {
        private final String text;
        private int at;

        private Json(String text) { this.text = text; }

        static Object parse(String text) {
            Json json = new Json(text);
            Object value = json.value();
            json.space();
            if (json.at != text.length()) throw json.error("trailing characters");
            return value;
        }

        private Object value() {
            space();
            if (at >= text.length()) throw error("unexpected end");
            char c = text.charAt(at);
            if (c == '{') return object();
            if (c == '[') return array();
            if (c == '"') return string();
            if (text.startsWith("true", at)) { at += 4; return Boolean.TRUE; }
            if (text.startsWith("false", at)) { at += 5; return Boolean.FALSE; }
            if (text.startsWith("null", at)) { at += 4; return null; }
            return number();
        }

        private Map<String, Object> object() {
            Map<String, Object> members = new LinkedHashMap<>();
            at++; // {
            space();
            if (peek('}')) return members;
            do {
                space();
                if (at >= text.length() || text.charAt(at) != '"') throw error("expected a member name");
                String name = string();
                space();
                expect(':');
                // A duplicate claim is refused: which of the two would count is unclear (RFC 7515, 5.2).
                if (members.containsKey(name)) throw error("duplicate member " + name);
                members.put(name, value());
                space();
            } while (peek(','));
            expect('}');
            return members;
        }

        private List<Object> array() {
            List<Object> items = new ArrayList<>();
            at++; // [
            space();
            if (peek(']')) return items;
            do {
                items.add(value());
                space();
            } while (peek(','));
            expect(']');
            return items;
        }

        private String string() {
            StringBuilder out = new StringBuilder();
            at++; // "
            while (true) {
                if (at >= text.length()) throw error("unterminated string");
                char c = text.charAt(at++);
                if (c == '"') return out.toString();
                if (c < 0x20) throw error("control character in a string");
                if (c != '\\') { out.append(c); continue; }
                if (at >= text.length()) throw error("unterminated escape");
                char e = text.charAt(at++);
                switch (e) {
                    case '"', '\\', '/' -> out.append(e);
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'n' -> out.append('\n');
                    case 'r' -> out.append('\r');
                    case 't' -> out.append('\t');
                    case 'u' -> {
                        if (at + 4 > text.length()) throw error("short \\u escape");
                        out.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                        at += 4;
                    }
                    default -> throw error("bad escape \\" + e);
                }
            }
        }

        private Number number() {
            int start = at;
            while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) at++;
            String literal = text.substring(start, at);
            if (literal.isEmpty()) throw error("unexpected character");
            try {
                return literal.matches("-?\\d+") ? (Number) Long.valueOf(literal) : (Number) Double.valueOf(literal);
            } catch (NumberFormatException error) {
                throw error("bad number " + literal);
            }
        }

        private void space() {
            while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) at++;
        }

        private boolean peek(char c) {
            if (at < text.length() && text.charAt(at) == c) { at++; return true; }
            return false;
        }

        private void expect(char c) {
            if (!peek(c)) throw error("expected '" + c + "'");
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("JSON: " + what + " at " + at);
        }
    }
}
