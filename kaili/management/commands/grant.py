from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kaili.models import User
from kaili.roles import ROLES
from kaili.selectors import user_grants, user_list
from kaili.services import user_grant_role


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "；".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
    return "；".join(error.messages)


class Command(BaseCommand):
    help = "授予用户角色及其网格范围：grant USERNAME ROLE [CODE ...]（同一角色的授权可叠加）。"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", help="角色：" + ", ".join(ROLES))
        parser.add_argument("codes", nargs="*", help="网格编码（按网格授权的角色至少一个）")

    def handle(self, *args, username, role, codes, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"账号“{username}”不存在。") from None
        try:
            user_grant_role(actor=None, user=user, role=role, codes=codes)
        except ValidationError as error:
            raise CommandError(_messages(error)) from None
        for grant in user_grants(user_list().get(pk=user.pk)):
            self.stdout.write(f"{user.username}: {grant['label']}（{grant['role']}） {' '.join(grant['codes'])}")
