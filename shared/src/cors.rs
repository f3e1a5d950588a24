//! CORS as Supabase edge functions answer it: on every response, errors included.

/// The headers added to every answer.
pub const HEADERS: [(&str, &str); 3] = [
    ("access-control-allow-origin", "*"),
    (
        "access-control-allow-headers",
        "authorization, x-client-info, apikey, content-type",
    ),
    (
        "access-control-allow-methods",
        "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    ),
];
