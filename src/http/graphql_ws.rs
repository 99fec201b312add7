//! GraphQL subscriptions over WebSocket: `GET /graphql` with `Upgrade:
//! websocket` and the `graphql-transport-ws` subprotocol (the `graphql-ws`
//! library's). The protocol is async-graphql's own (`http::WebSocket`); the
//! socket is `actix-ws`, whose send queue is bounded, so this module owns the
//! send loop and drops a subscriber that stops reading instead of buffering
//! for it without bound.
//!
//! - The bearer token travels in the `connection_init` payload
//!   (`{"authorization": "Bearer ..."}` or `{"token": "..."}`); without one
//!   the subscriber is anonymous and sees only public content. A bad token
//!   closes the socket (4403); so does the token's expiry (4401).
//! - Only subscriptions: queries and mutations go over HTTP, where caching,
//!   budgets and idempotency apply.
//! - Limits: [`SUBSCRIPTIONS_PER_CONNECTION`], connections per client address
//!   and in all ([`Sockets`], refused with 429 before the upgrade),
//!   `connection_init` within [`INIT_TIMEOUT`] (else 4408), and a send that
//!   does not complete within [`SEND_TIMEOUT`] closes the socket (4008).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use async_graphql::{Data, Executor, Response, ServerError};
use futures_util::stream::{BoxStream, StreamExt};

use super::AppState;
use crate::auth::Actor;
use crate::error::AppError;
use crate::graphql::{AppSchema, RequestCtx};

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";
/// Active subscriptions one connection may hold.
pub const SUBSCRIPTIONS_PER_CONNECTION: usize = 10;
/// Open connections per client address (an IPv6 /64 counts as one).
pub const CONNECTIONS_PER_ADDRESS: usize = 20;
/// Open connections in all.
pub const CONNECTIONS: usize = 5000;
/// How long a client has to send `connection_init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one message may wait for the client to take it.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest message a client may send.
const MAX_MESSAGE: usize = 64 * 1024;

/// Whether this request asks for a WebSocket.
pub fn is_upgrade(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The open connections, per client address.
#[derive(Default)]
pub struct Sockets {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One admitted connection; dropping it frees its place.
pub struct Admitted {
    sockets: Arc<Sockets>,
    addr: IpAddr,
}

impl Sockets {
    fn admit(self: &Arc<Self>, addr: IpAddr) -> Result<Admitted, AppError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mine = open.1.get(&addr).copied().unwrap_or(0);
        if open.0 >= CONNECTIONS || mine >= CONNECTIONS_PER_ADDRESS {
            return Err(AppError::TooManyRequests {
                what: "subscription connections".into(),
                retry_after_secs: 10,
            });
        }
        open.0 += 1;
        *open.1.entry(addr).or_default() += 1;
        Ok(Admitted {
            sockets: self.clone(),
            addr,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.sockets.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.addr) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.addr);
            }
        }
    }
}

/// Upgrades `GET /graphql` to a subscription socket.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let offered = req
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !offered.split(',').any(|p| p.trim() == PROTOCOL) {
        return Err(AppError::invalid(
            "sec-websocket-protocol",
            format!("subscriptions speak {PROTOCOL}: offer it in Sec-WebSocket-Protocol"),
        ));
    }
    let ip = super::client::client_ip(&req, &state.trusted_proxies)
        .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
    let admitted = state.sockets.admit(super::client::budget_address(ip))?;
    let (mut res, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| AppError::invalid("upgrade", format!("not a WebSocket handshake: {e}")))?;
    res.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(PROTOCOL),
    );
    let stream = stream
        .max_frame_size(MAX_MESSAGE)
        .aggregate_continuations()
        .max_continuation_size(MAX_MESSAGE);
    actix_web::rt::spawn(serve(state.into_inner(), session, stream, admitted));
    Ok(res)
}

/// The caller a `connection_init` payload names (anonymous without a token).
async fn actor_of(state: &AppState, payload: &serde_json::Value) -> Result<(Actor, i64), AppError> {
    let token = payload
        .get("authorization")
        .or_else(|| payload.get("Authorization"))
        .and_then(|v| v.as_str())
        .map(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
                .unwrap_or(h)
        })
        .or_else(|| payload.get("token").and_then(|v| v.as_str()));
    let Some(token) = token else {
        return Ok((Actor::Anonymous, i64::MAX));
    };
    let claims = state.jwt.verify(token.trim())?;
    let exp = claims.exp;
    Ok((crate::http::auth::actor_of(state, claims).await?, exp))
}

/// The schema, with a count of this connection's subscriptions and only
/// subscriptions let through.
#[derive(Clone)]
struct Connection {
    schema: AppSchema,
    subscriptions: Arc<AtomicUsize>,
}

/// A stream of one error answer.
fn refused(message: &str, code: &'static str) -> BoxStream<'static, Response> {
    let mut e = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    e.extensions = Some(ext);
    futures_util::stream::once(async move { Response::from_errors(vec![e]) }).boxed()
}

/// Keeps a subscription counted while its stream lives.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Executor for Connection {
    async fn execute(&self, _request: async_graphql::Request) -> Response {
        Response::from_errors(vec![ServerError::new(
            "send queries and mutations over HTTP",
            None,
        )])
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let subscription = async_graphql::parser::parse_query(&request.query)
            .ok()
            .is_some_and(|doc| {
                let name = request.operation_name.as_deref();
                doc.operations.iter().any(|(n, op)| {
                    (name.is_none() || n.map(|n| n.as_str()) == name)
                        && op.node.ty == async_graphql::parser::types::OperationType::Subscription
                })
            });
        if !subscription {
            return refused(
                "only subscriptions are served over WebSocket; send queries and mutations over HTTP",
                "BAD_USER_INPUT",
            );
        }
        if self.subscriptions.fetch_add(1, Ordering::SeqCst) >= SUBSCRIPTIONS_PER_CONNECTION {
            self.subscriptions.fetch_sub(1, Ordering::SeqCst);
            return refused(
                &format!(
                    "at most {SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection; \
                     complete one first"
                ),
                "TOO_MANY_SUBSCRIPTIONS",
            );
        }
        let counted = Counted(self.subscriptions.clone());
        self.schema
            .execute_stream_with_session_data(request, session_data.unwrap_or_default())
            .map(move |r| {
                let _keep = &counted;
                r
            })
            .boxed()
    }
}

/// Runs one socket until either side closes it.
async fn serve(
    state: Arc<AppState>,
    mut session: actix_ws::Session,
    stream: actix_ws::AggregatedMessageStream,
    _admitted: Admitted,
) {
    let pongs = session.clone();
    let input = stream
        .take_while(|m| {
            std::future::ready(matches!(m, Ok(m) if !matches!(m, AggregatedMessage::Close(_))))
        })
        .filter_map(move |m| {
            let mut pongs = pongs.clone();
            async move {
                match m {
                    Ok(AggregatedMessage::Text(t)) => Some(t.as_bytes().to_vec()),
                    Ok(AggregatedMessage::Binary(b)) => Some(b.to_vec()),
                    Ok(AggregatedMessage::Ping(b)) => {
                        let _ = pongs.pong(&b).await;
                        None
                    }
                    _ => None,
                }
            }
        });
    let (expiry_tx, expiry_rx) = tokio::sync::oneshot::channel::<i64>();
    let expiry_tx = Mutex::new(Some(expiry_tx));
    // A refused `connection_init` closes with 4403 (the protocol's Forbidden).
    let refused_init = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let refused = refused_init.clone();
    let init_state = state.clone();
    let executor = Connection {
        schema: state.schema.clone(),
        subscriptions: Arc::default(),
    };
    let mut data = Data::default();
    data.insert(state.tail.clone());
    let ws = WebSocket::new(executor, input, WebSocketProtocols::GraphQLWS)
        .connection_data(data)
        .on_connection_init(move |payload| async move {
            let (actor, exp) = actor_of(&init_state, &payload).await.map_err(|e| {
                refused.store(true, Ordering::SeqCst);
                async_graphql::Error::new(e.public_message())
            })?;
            if let Some(tx) = expiry_tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
                let _ = tx.send(exp);
            }
            let db = init_state.db.conn.clone();
            let mut d = Data::default();
            d.insert(crate::graphql::Loaders::uncached(&db, &actor));
            d.insert(
                RequestCtx::new(db, actor, Arc::default()).with_search(init_state.search.clone()),
            );
            Ok(d)
        });
    let mut ws = std::pin::pin!(ws);
    // Closed with 4408 unless the client says who it is in time; with 4401
    // when its token expires.
    let mut expiry = std::pin::pin!(async move {
        match tokio::time::timeout(INIT_TIMEOUT, expiry_rx).await {
            Ok(Ok(exp)) => {
                let left = exp.saturating_sub(chrono::Utc::now().timestamp());
                let left = u64::try_from(left).unwrap_or(0);
                tokio::time::sleep(Duration::from_secs(left)).await;
                (4401u16, "the token expired")
            }
            // The init failed (the protocol closes the socket itself).
            Ok(Err(_)) => std::future::pending().await,
            Err(_) => (4408u16, "connection_init was not sent in time"),
        }
    });
    let close = loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(WsMessage::Text(t)) => {
                    match tokio::time::timeout(SEND_TIMEOUT, session.text(t)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return,
                        Err(_) => break Some((4008, "too slow to read its messages".to_owned())),
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    let code = if refused_init.load(Ordering::SeqCst) { 4403 } else { code };
                    break Some((code, reason));
                }
                None => break None,
            },
            (code, why) = &mut expiry => break Some((code, why.to_owned())),
        }
    };
    let reason = close.map(|(code, description)| CloseReason {
        code: CloseCode::Other(code),
        description: Some(description),
    });
    let _ = tokio::time::timeout(SEND_TIMEOUT, session.close(reason)).await;
}
