from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from topics import kafka
from topics.models import Cluster, primary_cluster


@login_required
def cluster_list(request: HttpRequest) -> HttpResponse:
    primary_cluster()
    rows = []
    for cluster in Cluster.objects.all():
        try:
            info = kafka.describe_cluster(cluster)
            rows.append({"cluster": cluster, "brokers": info["brokers"], "error": None})
        except kafka.KafkaError as exc:
            rows.append({"cluster": cluster, "brokers": [], "error": exc.message})
    return render(request, "topics/cluster_list.html", {"rows": rows})
