## Services: the customer's server pages and the console's service pages.

nav-services = 我的服务器
nav-staff-services = 开通队列

services-title = 我的服务器
services-buy = 购买云服务器
services-none = 您还没有服务器。
services-name = 名称
services-plan = 套餐
services-ip = IP 地址
services-expires = 到期时间
services-server = 服务器
services-months = 续费周期（月）
services-created = 创建时间
services-activated = 开通时间
services-back = 返回我的服务器
services-refreshing = 操作完成前，本页面每 10 秒自动刷新。

services-state-running = 运行中
services-state-creating = 正在创建服务器…
services-state-attention = 等待客服处理
services-state-suspending = 正在暂停…
services-state-resuming = 正在恢复…
services-state-suspended-unpaid = 已暂停：请支付续费账单
services-state-suspended = 已暂停：请联系客服
services-state-terminating = 正在删除…
services-state-terminated = 已删除

services-one-day = 1 天
services-days = { $n } 天
services-lifecycle = 续费账单在到期前 { $invoice }生成；到期后未续费的服务器，到期 { $suspend }后暂停，到期 { $terminate }后删除（连同磁盘上的数据）。天数按中国标准时间（UTC+8）计算。

services-power = 电源操作
services-power-start = 开机
services-power-reboot = 重启
services-power-stop = 关机
services-pending-start = 正在开机…
services-pending-stop = 正在关机…
services-pending-reboot = 正在重启…
services-pending-busy = 服务器正在执行操作…
services-flash-power = 已提交电源操作，稍后生效。

services-renewal = 续费
services-renewal-due = 续费账单待支付。
services-renewal-invoice = 查看续费账单
services-renew = 续费
services-renew-pay = 支付续费账单

services-password = 首次登录密码
services-password-intro = 我们暂时保存着服务器的首次登录密码，供您查看一次。请保存好后点击“我已保存”，我们将永久删除它；首次登录后请立即修改密码。
services-password-show = 显示密码
services-password-shown = 请立即保存此密码。点击“我已保存”后，我们将永久删除它，无法再次查看。
services-password-forget = 我已保存，删除密码
services-flash-password-forgotten = 首次登录密码已永久删除。
services-flash-password-gone = 首次登录密码已不再保存。

staff-services-title = 开通队列
staff-services-intro = 未达到目标状态、等待人工处理或上次操作失败的服务，最新的在前。
staff-services-open = 服务编号
staff-services-open-submit = 打开
staff-services-none = 队列为空：所有服务都处于应有的状态。
staff-services-service = 服务
staff-services-back = 返回开通队列
staff-services-state = 状态 → 目标
staff-services-reason = 目标原因
staff-services-upstream = 上游
staff-services-last-error = 最近错误
staff-services-created = 创建时间
staff-services-expires = 到期时间
staff-services-account = 账务编号
staff-services-customer = 客户编号
staff-services-plan-region = 套餐 / 地域编号
staff-services-target = 模板
staff-services-remote-id = 上游编号
staff-services-node = 节点
staff-services-power-request = 待执行的电源操作
staff-services-checkpoint = 创建进度
staff-services-op = 进行中的操作
staff-services-state-pending = 待创建
staff-services-state-provisioning = 创建中
staff-services-state-active = 运行中
staff-services-state-suspended = 已暂停
staff-services-state-terminated = 已删除
staff-services-state-needs_attention = 需人工处理
staff-services-reason-overdue = 逾期未续费
staff-services-reason-paid = 已付款
staff-services-reason-staff = 员工指令
staff-services-reason-closure = 账户注销
staff-services-retry = 重试
staff-services-retry-intro = 重新运行该服务的任务：等待处理的创建从上次进度继续，失败的暂停或删除重新执行。
staff-services-retry-submit = 重试
staff-services-order = 暂停或恢复
staff-services-order-intro = 员工指令会一直有效，直到员工再次更改；续费付款会解除“保持运行”的指令。
staff-services-suspend = 暂停服务
staff-services-resume = 恢复运行
staff-services-terminate = 删除服务
staff-services-terminate-intro = 删除服务器及其磁盘上的数据，无法撤销，也不会再检查付款状态。
staff-services-terminate-confirm = 我确认删除该服务器及其数据
staff-services-terminate-submit = 删除服务器
staff-services-done-retry = 已重新安排任务。
staff-services-done-active = 已下达恢复运行的指令。
staff-services-done-suspended = 已下达暂停的指令。
staff-services-done-terminated = 已下达删除的指令。

invalid-service-terminate-confirm = 删除前请勾选确认框。

staff-reconcile-title = 上游核对
staff-reconcile-intro = 将每个上游现有的服务器与我们的服务逐一比对（现在运行，只读取，不删除也不修改任何内容）。每日的自动核对发现问题时会通知管理服务的员工。
staff-reconcile-no-upstreams = 尚未配置任何上游。
staff-reconcile-failed = 无法读取此上游的服务器列表：
staff-reconcile-clean = 一致：每台服务器都对应一个服务，每个服务的服务器都在。
staff-reconcile-unknown = 未知的服务器（没有服务对应）
staff-reconcile-missing = 服务器缺失的服务
staff-reconcile-remote-id = 上游编号
staff-reconcile-name = 名称
staff-reconcile-node = 节点
