from django.urls import path

from topics import views

urlpatterns = [
    path("clusters/", views.cluster_list, name="cluster-list"),
]
