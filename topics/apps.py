from django.apps import AppConfig

CLUSTER_EVENTS = ("mutation/create-cluster", "mutation/edit-cluster", "mutation/delete-cluster")


class TopicsConfig(AppConfig):
    name = "topics"

    def ready(self) -> None:
        from audit import events, transports
        from topics import audit_sink
        from topics.operations import OPERATIONS

        events.register(*OPERATIONS, *CLUSTER_EVENTS)

        # The audit topic is a sink behind the Kafka seam; audit names clusters through us.
        transports.register(audit_sink.KafkaTransport)
        transports.set_cluster_labeller(audit_sink.cluster_name)
