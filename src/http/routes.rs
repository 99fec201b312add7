//! Route tables. Each table lists paths with their methods, handlers and
//! operation docs once; [`route_table!`] turns it into the table constant (which
//! `http::openapi` builds `openapi.yaml` from and the contract test reads) and the
//! actix resources the router mounts, so a route cannot be served undocumented
//! or documented unserved. `GET` implies `HEAD`; a method a path does not have
//! answers 405 with `Allow`.

use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use super::problem::problem;

/// Builds the OpenAPI operation of one route (`http::openapi::ops`).
pub type OperationDoc = fn() -> utoipa::openapi::path::Operation;

/// One path of a route table: its full path and, per method, its operation doc.
pub struct Route {
    pub path: &'static str,
    pub methods: &'static [(&'static str, OperationDoc)],
}

impl Route {
    /// The methods the path answers (`HEAD` goes with `GET` and is not listed).
    pub fn method_names(&self) -> Vec<&'static str> {
        self.methods.iter().map(|(m, _)| *m).collect()
    }
}

/// `route_table!(TABLE, resources, "/prefix"; "/path" => { GET: handler => doc, ... }, ...)`
/// defines `pub const TABLE: &[Route]` (full paths, methods and operation docs)
/// and `pub fn resources() -> Vec<(&'static str, actix_web::Resource)>` (paths
/// below the prefix with their resources, in the table's order).
macro_rules! route_table {
    ($(#[$doc:meta])* $table:ident, $resources:ident, $prefix:literal;
     $( $path:literal => { $( $method:ident : $handler:expr => $op:expr ),+ $(,)? } ),* $(,)?) => {
        $(#[$doc])*
        pub const $table: &[$crate::http::routes::Route] = &[
            $( $crate::http::routes::Route {
                path: concat!($prefix, $path),
                methods: &[ $( (stringify!($method), $op as $crate::http::routes::OperationDoc) ),+ ],
            } ),*
        ];

        /// The resources of the table, each with its path below the prefix.
        pub fn $resources() -> Vec<(&'static str, actix_web::Resource)> {
            vec![ $( {
                let allow = $crate::http::routes::allow_header(&[ $( stringify!($method) ),+ ]);
                let r = actix_web::web::resource($path);
                $( let r = $crate::http::routes::route!(r, $method, $handler); )+
                ($path, r.default_service($crate::http::routes::refuse_others(allow)))
            } ),* ]
        }
    };
}
pub(crate) use route_table;

/// Adds one method's route to a resource (`GET` also answers `HEAD`).
macro_rules! route {
    ($r:expr, GET, $h:expr) => {
        $r.route(actix_web::web::get().to($h))
            .route(actix_web::web::head().to($h))
    };
    ($r:expr, POST, $h:expr) => {
        $r.route(actix_web::web::post().to($h))
    };
    ($r:expr, PATCH, $h:expr) => {
        $r.route(actix_web::web::patch().to($h))
    };
    ($r:expr, DELETE, $h:expr) => {
        $r.route(actix_web::web::delete().to($h))
    };
}
pub(crate) use route;

/// The `Allow` value of a resource with these methods (`HEAD` beside `GET`;
/// `OPTIONS` for browser preflights).
pub(crate) fn allow_header(methods: &[&str]) -> String {
    let mut all: Vec<&str> = Vec::new();
    for m in methods {
        all.push(m);
        if *m == "GET" {
            all.push("HEAD");
        }
    }
    all.push("OPTIONS");
    all.join(", ")
}

/// Answers a method a resource does not have: 405 with `Allow`.
pub(crate) fn refuse_others(allow: String) -> actix_web::Route {
    web::to(move |req: HttpRequest| {
        let allow = allow.clone();
        async move { method_not_allowed(req, &allow) }
    })
}

fn method_not_allowed(req: HttpRequest, allow: &str) -> HttpResponse {
    if req.method() == actix_web::http::Method::OPTIONS {
        // A preflight from a non-allowed origin or without CORS headers.
        return HttpResponse::NoContent()
            .insert_header(("allow", allow))
            .finish();
    }
    let mut res = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        &format!(
            "{} is not allowed on {}; allowed: {allow}",
            req.method(),
            req.path()
        ),
        &[],
    );
    if let Ok(v) = HeaderValue::from_str(allow) {
        res.headers_mut().insert(ALLOW, v);
    }
    res
}
