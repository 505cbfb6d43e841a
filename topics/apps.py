from django.apps import AppConfig


class TopicsConfig(AppConfig):
    name = "topics"

    def ready(self) -> None:
        from audit import transports
        from topics import audit_sink

        # The audit topic is a sink behind the Kafka seam; audit names clusters through us.
        transports.register(audit_sink.KafkaTransport)
        transports.set_cluster_labeller(audit_sink.cluster_name)
