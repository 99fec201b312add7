//! Resolver spans for traces, installed only when traces are exported
//! (`telemetry::exporting`; the hook runs for every field, so it costs nothing
//! only when absent). One span for the operation and one per root field
//! (`Query.articles`, `Mutation.createArticle`): each calls one service, and its
//! whole selection resolves inside it, the loaders' batches included (they run in
//! the span that starts them, `loaders::cached`). Nested fields get no span of
//! their own: one per list item would make hundreds for a page of articles. async-graphql's own `Tracing`
//! extension is not used: its parse span records the whole document with its
//! variables' values (e-mail addresses, names), which must not leave the process.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::{Response, ServerResult, Value};
use tracing::Instrument;

/// The extension (`Schema::build(...).extension(ResolverSpans)`).
pub struct ResolverSpans;

impl ExtensionFactory for ResolverSpans {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ResolverSpans)
    }
}

#[async_trait::async_trait]
impl Extension for ResolverSpans {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let span = tracing::debug_span!(
            "graphql.execute",
            otel.name = %format!("graphql {}", operation_name.unwrap_or("(anonymous)")),
            graphql.operation.name = operation_name,
        );
        next.run(ctx, operation_name).instrument(span).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_some() || info.is_for_introspection {
            return next.run(ctx, info).await;
        }
        let span = tracing::debug_span!(
            "graphql.resolve",
            otel.name = %format!("{}.{}", info.parent_type, info.name),
            graphql.field.path = %info.path_node,
        );
        next.run(ctx, info).instrument(span).await
    }
}
