//! The GraphQL endpoint: `POST /graphql`, `GET /graphql` for queries, GraphiQL for
//! browsers. Builds the per-request context (caller, loaders) and runs the schema.

use actix_web::http::header::{ACCEPT, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};

use crate::auth::Actor;
use crate::graphql::{Loaders, RequestCtx};

use super::AppState;

async fn execute(state: &AppState, req: async_graphql::Request) -> GraphQLResponse {
    let actor = Actor::Anonymous;
    let db = state.db.conn.clone();
    let req = req
        .data(Loaders::new(&db, &actor))
        .data(RequestCtx::new(db, actor));
    state.schema.execute(req).await.into()
}

pub async fn post(state: web::Data<AppState>, req: GraphQLRequest) -> GraphQLResponse {
    execute(&state, req.into_inner()).await
}

/// GraphiQL for a browser; otherwise a query sent in the URL.
pub async fn get(
    state: web::Data<AppState>,
    http: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let wants_html = http
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html && state.graphiql && http.query_string().is_empty() {
        return Ok(HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(GraphiQLSource::build().endpoint("/graphql").finish()));
    }
    let gql =
        <GraphQLRequest as actix_web::FromRequest>::from_request(&http, &mut payload.into_inner())
            .await?;
    let res = execute(&state, gql.into_inner()).await;
    Ok(actix_web::Responder::respond_to(res, &http).map_into_boxed_body())
}
