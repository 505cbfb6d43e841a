from django.apps import AppConfig

CLUSTER_EVENTS = ("mutation/create-cluster", "mutation/edit-cluster", "mutation/delete-cluster")


class TopicsConfig(AppConfig):
    name = "topics"

    def ready(self) -> None:
        from audit import crosscheck, events, staging, transports
        from topics import audit_sink, group_operations, operations

        events.register(*operations.OPERATIONS, *CLUSTER_EVENTS)

        # The audit topic is a sink behind the Kafka seam; audit names clusters and reads the
        # topic back (audit_verify --topic) through us.
        transports.register(audit_sink.KafkaTransport)
        transports.set_cluster_labeller(audit_sink.cluster_name)
        crosscheck.set_topic_reader(audit_sink.read_topic)

        # Topic and group changes can be staged for approval: built again from stored input.
        for event in operations.STAGEABLE:
            staging.register(event, operations.rebuild)
        for event in group_operations.STAGEABLE:
            staging.register(event, group_operations.rebuild)
