from django.urls import path, re_path

from topics import api, browser_views, group_api, group_views, views

TOPIC = "clusters/<str:cluster>/topics/<str:topic>/"
# The API takes its trailing slash as optional: a client that leaves it off gets an answer,
# not a redirect a POST cannot follow.
API_CLUSTER = r"^api/clusters/(?P<cluster>[^/]+)/topics"
API_TOPIC = API_CLUSTER + r"/(?P<topic>[^/]+)"
GROUP = "clusters/<str:cluster>/groups/<str:group>/"
API_GROUPS = r"^api/clusters/(?P<cluster>[^/]+)/groups"
API_GROUP = API_GROUPS + r"/(?P<group>[^/]+)"

urlpatterns = [
    path("clusters/", views.cluster_list, name="cluster-list"),
    path("clusters/<str:cluster>/topics/", views.topic_list, name="topic-list"),
    path("clusters/<str:cluster>/create-topic/", views.topic_create, name="topic-create"),
    path(TOPIC, views.topic_detail, name="topic-detail"),
    path(TOPIC + "configs/", views.topic_configs, name="topic-configs"),
    path(TOPIC + "produce/", views.topic_produce, name="topic-produce"),
    path(TOPIC + "messages/", browser_views.topic_messages, name="topic-messages"),
    path(
        TOPIC + "messages/download.jsonl", browser_views.messages_download, name="messages-download"
    ),
    path(
        TOPIC + "messages/<int:partition>/<int:offset>/",
        browser_views.message_detail,
        name="message-detail",
    ),
    path(
        TOPIC + "messages/<int:partition>/<int:offset>/download.jsonl",
        browser_views.message_download,
        name="message-download",
    ),
    path(TOPIC + "delete/", views.topic_delete, name="topic-delete"),
    path(TOPIC + "truncate/", views.topic_truncate, name="topic-truncate"),
    path("clusters/<str:cluster>/groups/", group_views.group_list, name="group-list"),
    path(GROUP, group_views.group_detail, name="group-detail"),
    path(GROUP + "reset/", group_views.group_reset, name="group-reset"),
    path(GROUP + "delete/", group_views.group_delete, name="group-delete"),
    re_path(r"^api/clusters/?$", api.ClusterListView.as_view(), name="api-cluster-list"),
    re_path(API_CLUSTER + r"/?$", api.TopicListView.as_view(), name="api-topic-list"),
    re_path(API_TOPIC + r"/?$", api.TopicDetailView.as_view(), name="api-topic-detail"),
    re_path(API_TOPIC + r"/configs/?$", api.TopicConfigsView.as_view(), name="api-topic-configs"),
    re_path(
        API_TOPIC + r"/messages/?$", api.TopicMessagesView.as_view(), name="api-topic-messages"
    ),
    re_path(
        API_TOPIC + r"/messages/download/?$",
        api.MessagesDownloadView.as_view(),
        name="api-messages-download",
    ),
    re_path(
        API_TOPIC + r"/truncate/?$", api.TopicTruncateView.as_view(), name="api-topic-truncate"
    ),
    re_path(API_GROUPS + r"/?$", group_api.GroupListView.as_view(), name="api-group-list"),
    re_path(API_GROUP + r"/?$", group_api.GroupDetailView.as_view(), name="api-group-detail"),
    re_path(
        API_GROUP + r"/offsets/?$", group_api.GroupOffsetsView.as_view(), name="api-group-offsets"
    ),
]
