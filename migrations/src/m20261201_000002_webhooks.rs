//! Webhooks (`services::webhooks`), fed from the change log:
//!
//! - `webhook_endpoints`: where to send what (URL, event types and filters as
//!   JSON text, the signing secret, active flag and why it was disabled).
//! - `webhook_state`: one row (id 1), the dispatcher's position in the change
//!   log and the random name its message ids carry. Apart from
//!   `content_state`, so that dispatching never holds the row writers lock.
//! - `webhook_messages`: one per change log entry that some endpoint wants,
//!   with the exact bytes signed.
//! - `webhook_deliveries`: one per message and endpoint (unique), its state,
//!   the next attempt's time and the lease of the node sending it.
//! - `webhook_attempts`: every attempt with its outcome, response code,
//!   latency and the first KiB of the response.
//!
//! Portable: only sea-query builder calls.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Url,
    Description,
    EventTypes,
    ExpertIds,
    OutletIds,
    TopicIds,
    Secret,
    Active,
    DisabledReason,
    Version,
    CreatedAt,
    UpdatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum WebhookState {
    Table,
    Id,
    DispatchedSeq,
    Epoch,
}

#[derive(DeriveIden)]
enum WebhookMessages {
    Table,
    Id,
    Seq,
    MsgId,
    EventType,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EndpointId,
    MessageId,
    State,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LeaseToken,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    At,
    Outcome,
    ResponseCode,
    LatencyMs,
    ResponseBody,
    Node,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(WebhookEndpoints::Table)
                .col(pk_auto(WebhookEndpoints::Id))
                .col(text(WebhookEndpoints::Url))
                .col(text_null(WebhookEndpoints::Description))
                .col(text(WebhookEndpoints::EventTypes))
                .col(text_null(WebhookEndpoints::ExpertIds))
                .col(text_null(WebhookEndpoints::OutletIds))
                .col(text_null(WebhookEndpoints::TopicIds))
                .col(text(WebhookEndpoints::Secret))
                .col(boolean(WebhookEndpoints::Active).default(true))
                .col(string_null(WebhookEndpoints::DisabledReason))
                .col(integer(WebhookEndpoints::Version).default(1))
                .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                .col(string(WebhookEndpoints::CreatedBy))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebhookState::Table)
                .col(integer(WebhookState::Id).primary_key())
                .col(big_integer(WebhookState::DispatchedSeq))
                .col(string(WebhookState::Epoch))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebhookMessages::Table)
                .col(big_pk_auto(WebhookMessages::Id))
                .col(big_integer(WebhookMessages::Seq))
                .col(string_uniq(WebhookMessages::MsgId))
                .col(string(WebhookMessages::EventType))
                .col(text(WebhookMessages::Payload))
                .col(timestamp_with_time_zone(WebhookMessages::CreatedAt))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(big_pk_auto(WebhookDeliveries::Id))
                .col(integer(WebhookDeliveries::EndpointId))
                .col(big_integer(WebhookDeliveries::MessageId))
                .col(string(WebhookDeliveries::State))
                .col(integer(WebhookDeliveries::Attempts).default(0))
                .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                .col(timestamp_with_time_zone_null(WebhookDeliveries::LeaseUntil))
                .col(string_null(WebhookDeliveries::LeaseToken))
                .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                .col(timestamp_with_time_zone(WebhookDeliveries::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_webhook_deliveries_endpoint")
                        .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                        .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_webhook_deliveries_message")
                        .from(WebhookDeliveries::Table, WebhookDeliveries::MessageId)
                        .to(WebhookMessages::Table, WebhookMessages::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_webhook_deliveries_endpoint_message")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::EndpointId)
                .col(WebhookDeliveries::MessageId)
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_due")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::State)
                .col(WebhookDeliveries::NextAttemptAt)
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebhookAttempts::Table)
                .col(big_pk_auto(WebhookAttempts::Id))
                .col(big_integer(WebhookAttempts::DeliveryId))
                .col(timestamp_with_time_zone(WebhookAttempts::At))
                .col(string(WebhookAttempts::Outcome))
                .col(integer_null(WebhookAttempts::ResponseCode))
                .col(integer(WebhookAttempts::LatencyMs))
                .col(text(WebhookAttempts::ResponseBody))
                .col(string(WebhookAttempts::Node))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_webhook_attempts_delivery")
                        .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                        .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_attempts_delivery")
                .table(WebhookAttempts::Table)
                .col(WebhookAttempts::DeliveryId)
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookMessages::Table.into_iden(),
            WebhookState::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
