from django.db import migrations, models


class Migration(migrations.Migration):
    """The stored webhook event is the queue: `requeued_at` becomes `handed_out_at` (set by the ticker when it
    hands the event to a worker), with a partial index on the events still to hand out."""

    dependencies = [
        ("orders", "0013_event_at_default"),
    ]

    operations = [
        migrations.RenameField(model_name="webhookevent", old_name="requeued_at", new_name="handed_out_at"),
        # Events stored before this change had their task pushed by the webhook: they count as handed out.
        migrations.RunSQL(
            "UPDATE orders_webhookevent SET handed_out_at = received_at "
            "WHERE outcome = 'queued' AND handed_out_at IS NULL",
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="webhookevent",
            index=models.Index(
                condition=models.Q(("handed_out_at__isnull", True), ("outcome", "queued")),
                fields=["id"],
                name="webhook_to_hand_out_idx",
            ),
        ),
    ]
