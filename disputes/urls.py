app_name = "disputes"

# The pages (disputes.views) are added by their own commit.
urlpatterns: list = []
